// F32 and F16 cache attention, and the dispatch of kv_attention.h (Q8_0 is in kv_q8.cc).
#include "engine/cpu/kv_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/cpu/kv_q8.h"
#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"

namespace dv::cpu {
namespace {

using quant::TensorType;

float RoundToFp16(float x) { return quant::Fp16ToFloat(quant::FloatToFp16(x)); }

// ---- F32: two passes, exact softmax (sum in double) ---------------------------------------------

float DotPlain(int n, const float* a, const float* b) {
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

__attribute__((target("avx2,fma"))) float DotAvx2(int n, const float* a, const float* b) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float sum = _mm_cvtss_f32(s);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void AttendF32(int hd, const float* q, const uint8_t* k, const uint8_t* v, size_t stride, int n_pos, float scale,
               float* out, std::vector<float>& scores, bool avx2) {
  scores.resize(n_pos);
  float max = -INFINITY;
  for (int p = 0; p < n_pos; ++p) {
    const auto* kp = reinterpret_cast<const float*>(k + p * stride);
    scores[p] = (avx2 ? DotAvx2(hd, q, kp) : DotPlain(hd, q, kp)) * scale;
    max = std::max(max, scores[p]);
  }
  double sum = 0;
  for (int p = 0; p < n_pos; ++p) {
    scores[p] = std::exp(scores[p] - max);
    sum += scores[p];
  }
  const float inv = static_cast<float>(1.0 / sum);
  std::fill(out, out + hd, 0.f);
  for (int p = 0; p < n_pos; ++p) {
    const auto* vp = reinterpret_cast<const float*>(v + p * stride);
    const float a = scores[p] * inv;
    for (int i = 0; i < hd; ++i) out[i] += a * vp[i];
  }
}

// ---- F16: llama.cpp's online softmax with an fp16 accumulator -----------------------------------

void AttendF16Plain(int hd, const float* q, const uint8_t* k, const uint8_t* v, size_t stride, int n_pos,
                    float scale, float* out, std::vector<float>& scratch) {
  scratch.resize(2 * static_cast<size_t>(hd));
  float* qh = scratch.data();   // q rounded to fp16
  float* acc = qh + hd;         // Σ weight·v, every value representable in fp16
  for (int i = 0; i < hd; ++i) qh[i] = RoundToFp16(q[i]);
  std::fill(acc, acc + hd, 0.f);
  float max = -INFINITY, sum = 0;
  for (int p = 0; p < n_pos; ++p) {
    const auto* kp = reinterpret_cast<const uint16_t*>(k + p * stride);
    const auto* vp = reinterpret_cast<const uint16_t*>(v + p * stride);
    float s = 0;
    for (int i = 0; i < hd; ++i) s += qh[i] * quant::Fp16ToFloat(kp[i]);
    s *= scale;
    float ms = 1, vs = 1;
    if (s > max) {
      ms = std::exp(max - s);
      max = s;
      for (int i = 0; i < hd; ++i) acc[i] = RoundToFp16(acc[i] * ms);
    } else {
      vs = std::exp(s - max);
    }
    for (int i = 0; i < hd; ++i) acc[i] = RoundToFp16(std::fma(quant::Fp16ToFloat(vp[i]), vs, acc[i]));
    sum = sum * ms + vs;
  }
  const float inv = sum == 0 ? 0.f : 1.f / sum;
  for (int i = 0; i < hd; ++i) out[i] = acc[i] * inv;
}

__attribute__((target("avx2,fma,f16c"))) inline __m256 round16(__m256 x) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

// REQUIRES hd % 8 == 0.
__attribute__((target("avx2,fma,f16c"))) void AttendF16Avx2(int hd, const float* q, const uint8_t* k,
                                                             const uint8_t* v, size_t stride, int n_pos,
                                                             float scale, float* out, std::vector<float>& scratch) {
  scratch.resize(2 * static_cast<size_t>(hd));
  float* qh = scratch.data();
  float* acc = qh + hd;
  for (int i = 0; i < hd; i += 8) {
    _mm256_storeu_ps(qh + i, round16(_mm256_loadu_ps(q + i)));
    _mm256_storeu_ps(acc + i, _mm256_setzero_ps());
  }
  float max = -INFINITY, sum = 0;
  for (int p = 0; p < n_pos; ++p) {
    const auto* kp = reinterpret_cast<const __m128i*>(k + p * stride);
    const auto* vp = reinterpret_cast<const __m128i*>(v + p * stride);
    __m256 dot = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 8) {
      dot = _mm256_fmadd_ps(_mm256_loadu_ps(qh + i), _mm256_cvtph_ps(_mm_loadu_si128(kp + i / 8)), dot);
    }
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(dot), _mm256_extractf128_ps(dot, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    const float s = _mm_cvtss_f32(h) * scale;
    float ms = 1, vs = 1;
    if (s > max) {
      ms = std::exp(max - s);
      max = s;
      const __m256 m = _mm256_set1_ps(ms);
      for (int i = 0; i < hd; i += 8) _mm256_storeu_ps(acc + i, round16(_mm256_mul_ps(_mm256_loadu_ps(acc + i), m)));
    } else {
      vs = std::exp(s - max);
    }
    const __m256 w = _mm256_set1_ps(vs);
    for (int i = 0; i < hd; i += 8) {
      const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(vp + i / 8));
      _mm256_storeu_ps(acc + i, round16(_mm256_fmadd_ps(vv, w, _mm256_loadu_ps(acc + i))));
    }
    sum = sum * ms + vs;
  }
  const __m256 inv = _mm256_set1_ps(sum == 0 ? 0.f : 1.f / sum);
  for (int i = 0; i < hd; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(acc + i), inv));
}

}  // namespace

bool IsKvFormatSupported(TensorType type, int head_dim) {
  if (head_dim <= 0) return false;
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16: return true;
    case TensorType::kQ8_0: return head_dim % 32 == 0;
    default: return false;
  }
}

size_t KvRowBytes(TensorType type, int head_dim) {
  switch (type) {
    case TensorType::kF32: return static_cast<size_t>(head_dim) * sizeof(float);
    case TensorType::kF16: return static_cast<size_t>(head_dim) * sizeof(uint16_t);
    default: return static_cast<size_t>(head_dim / 32) * sizeof(quant::BlockQ8_0);
  }
}

void AttendHead(TensorType type, int head_dim, const float* q, const uint8_t* k, const uint8_t* v, size_t stride,
                int n_pos, float scale, float* out, std::vector<float>& scratch, const CpuFeatures& features) {
  switch (type) {
    case TensorType::kF32: return AttendF32(head_dim, q, k, v, stride, n_pos, scale, out, scratch, features.avx2);
    case TensorType::kF16:
      if (features.avx2 && head_dim % 8 == 0) return AttendF16Avx2(head_dim, q, k, v, stride, n_pos, scale, out, scratch);
      return AttendF16Plain(head_dim, q, k, v, stride, n_pos, scale, out, scratch);
    default: return AttendQ8_0(head_dim, q, k, v, stride, n_pos, scale, out, scratch, features.avx2);
  }
}

void StoreKvRow(TensorType type, const float* x, int n, uint8_t* out) {
  switch (type) {
    case TensorType::kF32: std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float)); return;
    case TensorType::kF16: {
      auto* h = reinterpret_cast<uint16_t*>(out);
      for (int i = 0; i < n; ++i) h[i] = quant::FloatToFp16(x[i]);
      return;
    }
    default: QuantizeRowQ8_0(x, n, out); return;
  }
}

}  // namespace dv::cpu
