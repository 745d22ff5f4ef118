// AVX2 activation quantizers (Q8_0 and Q8_K), bit-identical to the plain ones in vec_dot.cc:
// the same float products rounded to nearest even (VCVTPS2DQ under the default rounding mode is
// what std::nearbyint does), the same scale and the same clamp. Compiled with -mavx2 -mfma -mf16c
// and called only after Features() reported AVX2.
#include <immintrin.h>

#include <cstring>

#include "engine/cpu/kernels_internal.h"
#include "engine/quant/fp16.h"

namespace dv::cpu::internal {
namespace {

using quant::BlockQ8_0;
using quant::kBlockSize;
using quant::kSuperBlockSize;

inline __m256 Abs(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float HorizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 floats × scale, rounded to nearest even, clamped to ≤ 127, as 32 int8 in order.
inline __m256i RoundToInt8(const float* x, __m256 scale) {
  const __m256i max127 = _mm256_set1_epi32(127);
  __m256i i[4];
  for (int k = 0; k < 4; ++k) {
    i[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), scale)), max127);
  }
  // packs work within 128-bit lanes: the result holds 4-element groups in order 0 2 4 6 1 3 5 7.
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

}  // namespace

void Avx2QuantizeQ8_0(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const float* xb = x + i * kBlockSize;
    __m256 amax = Abs(_mm256_loadu_ps(xb));
    for (int j = 8; j < kBlockSize; j += 8) amax = _mm256_max_ps(amax, Abs(_mm256_loadu_ps(xb + j)));
    const float m = HorizontalMax(amax);
    const float id = m != 0 ? 127.f / m : 0.f;
    y[i].d = quant::FloatToFp16(m / 127.f);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs), RoundToInt8(xb, _mm256_set1_ps(id)));
  }
}

void Avx2QuantizeQ8_K(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_K*>(out);
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const float* xb = x + i * kSuperBlockSize;
    __m256 vmax = _mm256_setzero_ps();
    for (int j = 0; j < kSuperBlockSize; j += 8) vmax = _mm256_max_ps(vmax, Abs(_mm256_loadu_ps(xb + j)));
    const float amax = HorizontalMax(vmax);
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    // The scale comes from the first element of largest magnitude, with its sign.
    float max = 0;
    const __m256 target = _mm256_set1_ps(amax);
    for (int j = 0; j < kSuperBlockSize; j += 8) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(Abs(_mm256_loadu_ps(xb + j)), target, _CMP_EQ_OQ));
      if (hit != 0) {
        max = xb[j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 scale = _mm256_set1_ps(iscale);
    for (int j = 0; j < kSuperBlockSize; j += 32) {
      const __m256i q = RoundToInt8(xb + j, scale);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), q);
      // Group sums of 16: pairs → quads (int32) → each 128-bit lane's total in all its lanes.
      __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
      s = _mm256_hadd_epi32(s, s);
      s = _mm256_hadd_epi32(s, s);
      y[i].bsums[j / 16] = static_cast<int16_t>(_mm256_extract_epi32(s, 0));
      y[i].bsums[j / 16 + 1] = static_cast<int16_t>(_mm256_extract_epi32(s, 4));
    }
    y[i].d = 1.f / iscale;
  }
}

}  // namespace dv::cpu::internal
