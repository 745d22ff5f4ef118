// AVX-512 (F, DQ) attention kernels (compiled with -mavx512f -mavx512dq ...; see attention_kernels.h).
#include <immintrin.h>

#include "engine/cpu/attention_exp.h"
#include "engine/cpu/attention_f16_impl.h"
#include "engine/cpu/attention_kernels.h"

namespace dv::cpu {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int kLanes = 16;
  // 4 rows × 4 vectors of accumulators + 4 converted values: 20 of the 32 zmm registers.
  static constexpr int kRowTile = 4;
  static constexpr int kChunk = 4;

  static V Zero() { return _mm512_setzero_ps(); }
  static V Set1(float x) { return _mm512_set1_ps(x); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V x) { _mm512_storeu_ps(p, x); }
  static V LoadF16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V Round16(V x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }

  // Four rows side by side, each with llama.cpp's four accumulators (attention_f16_impl.h).
  static constexpr int kScoreRows = 4;
  static void Dots(const float* const* q, const uint16_t* k, int n, float* out) {
    __m512 acc[4][4];
    for (int j = 0; j < 4; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = _mm512_setzero_ps();
    for (int x = 0; x < n; x += 64) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512 kc = LoadF16(k + x + 16 * c);
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) acc[j][c] = _mm512_fmadd_ps(_mm512_loadu_ps(q[j] + x + 16 * c), kc, acc[j][c]);
      }
    }
    __m128 f[4];
    for (int j = 0; j < 4; ++j) {
      const __m512 z = _mm512_add_ps(_mm512_add_ps(acc[j][0], acc[j][2]), _mm512_add_ps(acc[j][1], acc[j][3]));
      const __m256 y = _mm256_add_ps(_mm512_extractf32x8_ps(z, 1), _mm512_castps512_ps256(z));
      f[j] = _mm_add_ps(_mm256_extractf128_ps(y, 1), _mm256_castps256_ps128(y));
    }
    // Transpose so that column l holds lane l of the four rows, then (l0 + l2) + (l1 + l3).
    const __m128 a = _mm_unpacklo_ps(f[0], f[1]), b = _mm_unpackhi_ps(f[0], f[1]);
    const __m128 c = _mm_unpacklo_ps(f[2], f[3]), d = _mm_unpackhi_ps(f[2], f[3]);
    const __m128 l0 = _mm_movelh_ps(a, c), l1 = _mm_movehl_ps(c, a), l2 = _mm_movelh_ps(b, d),
                 l3 = _mm_movehl_ps(d, b);
    _mm_storeu_ps(out, _mm_add_ps(_mm_add_ps(l0, l2), _mm_add_ps(l1, l3)));
  }

  // As Avx2::Exp (attention_avx2.cc), 8 lanes at a time in double; VSCALEFPD applies 2^n.
  static __m256 ExpHalf(__m256 xf) {
    const __m512d x = _mm512_cvtps_pd(xf);
    const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(0x1.62e42fee00000p-1), x);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(0x1.a39ef35793c76p-33), r);
    __m512d p = _mm512_set1_pd(kExpTaylor[0]);
    for (int i = 1; i < kExpTerms; ++i) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(kExpTaylor[i]));
    return _mm512_cvtpd_ps(_mm512_scalef_pd(p, n));
  }
  static V Exp(V x) {
    x = _mm512_max_ps(_mm512_set1_ps(-104.f), x);
    x = _mm512_min_ps(_mm512_set1_ps(89.f), x);
    const __m256 lo = ExpHalf(_mm512_castps512_ps256(x)), hi = ExpHalf(_mm512_extractf32x8_ps(x, 1));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
  }
};

}  // namespace

void AttendF16RowsAvx512(int head_dim, const AttentionRows& rows, const uint8_t* k, const uint8_t* v, size_t stride,
                         float scale, std::vector<float>& scratch) {
  AttendF16Rows<Avx512>(head_dim, rows, k, v, stride, scale, scratch);
}

void ExpAvx512(const float* x, float* y, int n) { ExpArray<Avx512>(x, y, n); }

}  // namespace dv::cpu
