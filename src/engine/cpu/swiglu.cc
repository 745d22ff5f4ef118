#include "engine/cpu/swiglu.h"

#include <immintrin.h>

#include <cmath>

namespace dv::cpu {
namespace {

void SwiGluPlain(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.f + std::exp(-g)) * up[i];
  }
}

// e^x for x in [-87.3, 88.3] (callers clamp; both ends stay normal floats): x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor
// polynomial (Horner; degree 7 keeps the truncation error below 1e-8), 2^k put into the exponent.
__attribute__((target("avx2,fma"))) inline __m256 Exp(__m256 x) {
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - k·ln2 with ln2 split in two so that k·ln2_hi is exact.
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187045e-06f), r);
  __m256 p = _mm256_set1_ps(1.f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

__attribute__((target("avx2,fma"))) void SwiGluAvx2(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.3f), one = _mm256_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = Exp(_mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), g), lo), hi));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  SwiGluPlain(gate + i, up + i, n - i, out + i);
}

}  // namespace

void SwiGlu(const float* gate, const float* up, int64_t n, float* out, const CpuFeatures& features) {
  if (features.avx2) return SwiGluAvx2(gate, up, n, out);
  SwiGluPlain(gate, up, n, out);
}

}  // namespace dv::cpu
