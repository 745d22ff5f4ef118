#include "engine/cpu/kv_q8.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"

namespace dv::cpu {
namespace {

using quant::BlockQ8_0;
constexpr int kBlock = 32;
static_assert(sizeof(BlockQ8_0) == 34);

// Σ over blocks of d_k * d_q * Σ k_i q_i.
float DotQ8Plain(int nb, const BlockQ8_0* k, const BlockQ8_0* q) {
  float sum = 0;
  for (int b = 0; b < nb; ++b) {
    int isum = 0;
    for (int i = 0; i < kBlock; ++i) isum += k[b].qs[i] * q[b].qs[i];
    sum += static_cast<float>(isum) * (quant::Fp16ToFloat(k[b].d) * quant::Fp16ToFloat(q[b].d));
  }
  return sum;
}

__attribute__((target("avx2,fma,f16c"))) float DotQ8Avx2(int nb, const BlockQ8_0* k, const BlockQ8_0* q) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const __m256i kv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k[b].qs));
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[b].qs));
    // |k| * (q with k's sign): unsigned × signed byte products, pairwise summed to int16, then int32.
    const __m256i prod16 = _mm256_maddubs_epi16(_mm256_sign_epi8(kv, kv), _mm256_sign_epi8(qv, kv));
    const __m256 isum = _mm256_cvtepi32_ps(_mm256_madd_epi16(prod16, ones));
    const float d = quant::Fp16ToFloat(k[b].d) * quant::Fp16ToFloat(q[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), isum, acc);
  }
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// acc[i] = acc[i] * ms (when ms != 1), then acc[i] += vs * dequant(v)[i].
void AccumulatePlain(int hd, const BlockQ8_0* v, float ms, float vs, float* acc) {
  if (ms != 1.f) {
    for (int i = 0; i < hd; ++i) acc[i] *= ms;
  }
  for (int b = 0; b < hd / kBlock; ++b) {
    const float d = quant::Fp16ToFloat(v[b].d);
    for (int i = 0; i < kBlock; ++i) acc[b * kBlock + i] = std::fma(d * v[b].qs[i], vs, acc[b * kBlock + i]);
  }
}

__attribute__((target("avx2,fma,f16c"))) void AccumulateAvx2(int hd, const BlockQ8_0* v, float ms, float vs,
                                                              float* acc) {
  if (ms != 1.f) {
    const __m256 m = _mm256_set1_ps(ms);
    for (int i = 0; i < hd; i += 8) _mm256_storeu_ps(acc + i, _mm256_mul_ps(_mm256_loadu_ps(acc + i), m));
  }
  const __m256 w = _mm256_set1_ps(vs);
  for (int b = 0; b < hd / kBlock; ++b) {
    const __m256 d = _mm256_set1_ps(quant::Fp16ToFloat(v[b].d));
    for (int j = 0; j < kBlock; j += 8) {
      const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(v[b].qs + j));
      const __m256 value = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)));
      float* a = acc + b * kBlock + j;
      _mm256_storeu_ps(a, _mm256_fmadd_ps(value, w, _mm256_loadu_ps(a)));
    }
  }
}

}  // namespace

void QuantizeRowQ8_0(const float* x, int n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_0*>(out);
  for (int b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    float amax = 0;
    for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float id = amax != 0 ? 127.f / amax : 0.f;
    y[b].d = quant::FloatToFp16(amax / 127.f);
    for (int i = 0; i < kBlock; ++i) y[b].qs[i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
  }
}

void AttendQ8_0(int hd, const float* q, const uint8_t* k, const uint8_t* v, size_t stride, int n_pos, float scale,
                float* out, std::vector<float>& scratch, bool avx2) {
  const int nb = hd / kBlock;
  const size_t q_floats = (static_cast<size_t>(nb) * sizeof(BlockQ8_0) + sizeof(float) - 1) / sizeof(float);
  scratch.resize(static_cast<size_t>(hd) + q_floats);
  float* acc = scratch.data();
  auto* qq = reinterpret_cast<BlockQ8_0*>(scratch.data() + hd);  // float storage: aligned for uint16 d
  QuantizeRowQ8_0(q, hd, reinterpret_cast<uint8_t*>(qq));
  std::fill(acc, acc + hd, 0.f);
  float max = -INFINITY, sum = 0;
  for (int p = 0; p < n_pos; ++p) {
    const auto* kp = reinterpret_cast<const BlockQ8_0*>(k + p * stride);
    const auto* vp = reinterpret_cast<const BlockQ8_0*>(v + p * stride);
    const float s = (avx2 ? DotQ8Avx2(nb, kp, qq) : DotQ8Plain(nb, kp, qq)) * scale;
    float ms = 1, vs = 1;
    if (s > max) {
      ms = std::exp(max - s);
      max = s;
    } else {
      vs = std::exp(s - max);
    }
    if (avx2) {
      AccumulateAvx2(hd, vp, ms, vs, acc);
    } else {
      AccumulatePlain(hd, vp, ms, vs, acc);
    }
    sum = sum * ms + vs;
  }
  const float inv = sum == 0 ? 0.f : 1.f / sum;
  for (int i = 0; i < hd; ++i) out[i] = acc[i] * inv;
}

}  // namespace dv::cpu
