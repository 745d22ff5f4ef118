// AVX2 + FMA + F16C attention kernels (compiled with -mavx2 -mfma -mf16c; see attention_kernels.h).
#include <immintrin.h>

#include "engine/cpu/attention_exp.h"
#include "engine/cpu/attention_f16_impl.h"
#include "engine/cpu/attention_kernels.h"

namespace dv::cpu {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int kLanes = 8;
  // Accumulation: 2 rows × 4 vectors + 4 converted values: 12 of the 16 ymm registers.
  static constexpr int kRowTile = 2;
  static constexpr int kChunk = 4;

  static V Zero() { return _mm256_setzero_ps(); }
  static V Set1(float x) { return _mm256_set1_ps(x); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V x) { _mm256_storeu_ps(p, x); }
  static V LoadF16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static V Round16(V x) { return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }

  // One row: llama.cpp's four 16-lane accumulators (attention_f16_impl.h) as 8 ymm halves.
  static constexpr int kScoreRows = 1;
  static void Dots(const float* const* q, const uint16_t* k, int n, float* out) {
    __m256 lo[4], hi[4];
    for (int c = 0; c < 4; ++c) lo[c] = hi[c] = _mm256_setzero_ps();
    for (int x = 0; x < n; x += 64) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        lo[c] = _mm256_fmadd_ps(_mm256_loadu_ps(q[0] + x + 16 * c), LoadF16(k + x + 16 * c), lo[c]);
        hi[c] = _mm256_fmadd_ps(_mm256_loadu_ps(q[0] + x + 16 * c + 8), LoadF16(k + x + 16 * c + 8), hi[c]);
      }
    }
    const __m256 z_lo = _mm256_add_ps(_mm256_add_ps(lo[0], lo[2]), _mm256_add_ps(lo[1], lo[3]));
    const __m256 z_hi = _mm256_add_ps(_mm256_add_ps(hi[0], hi[2]), _mm256_add_ps(hi[1], hi[3]));
    const __m256 y = _mm256_add_ps(z_hi, z_lo);
    const __m128 f = _mm_add_ps(_mm256_extractf128_ps(y, 1), _mm256_castps256_ps128(y));
    const __m128 t = _mm_add_ps(f, _mm_movehl_ps(f, f));  // l0 + l2, l1 + l3
    out[0] = _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }

  // e^x for float x, computed in double and rounded once to float: n = round(x·log2 e),
  // r = x − n·ln 2 (ln 2 split in a 32-bit head, so n·head is exact, and a tail), |r| <= ln2/2,
  // e^r by its Taylor polynomial (attention_exp.h), times 2^n. The double result is within 1e-15
  // relative of e^x, so the float is the correctly rounded one (as libm's expf gives) except when
  // e^x lies within 1e-15 of a rounding boundary. Inputs are clamped to [-104, 89] first: e^-104
  // rounds to 0 and e^89 overflows; max/min return their second operand for a NaN, so NaN passes.
  static __m128 ExpQuarter(__m128 xf) {
    const __m256d x = _mm256_cvtps_pd(xf);
    const __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(0x1.62e42fee00000p-1), x);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(0x1.a39ef35793c76p-33), r);
    __m256d p = _mm256_set1_pd(kExpTaylor[0]);
    for (int i = 1; i < kExpTerms; ++i) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpTaylor[i]));
    // 2^n, n in [-151, 129]: a normal double built from its exponent bits.
    const __m256i e = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023)), 52);
    return _mm256_cvtpd_ps(_mm256_mul_pd(p, _mm256_castsi256_pd(e)));
  }
  static V Exp(V x) {
    x = _mm256_max_ps(_mm256_set1_ps(-104.f), x);
    x = _mm256_min_ps(_mm256_set1_ps(89.f), x);
    const __m128 lo = ExpQuarter(_mm256_castps256_ps128(x)), hi = ExpQuarter(_mm256_extractf128_ps(x, 1));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
  }
};

}  // namespace

void AttendF16RowsAvx2(int head_dim, const AttentionRows& rows, const uint8_t* k, const uint8_t* v, size_t stride,
                       float scale, std::vector<float>& scratch) {
  AttendF16Rows<Avx2>(head_dim, rows, k, v, stride, scale, scratch);
}

void ExpAvx2(const float* x, float* y, int n) { ExpArray<Avx2>(x, y, n); }

}  // namespace dv::cpu
