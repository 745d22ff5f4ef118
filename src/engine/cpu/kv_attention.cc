// F32 cache attention, the plain F16 path, and the dispatch of kv_attention.h (Q8_0 is in
// kv_q8.cc, the SIMD F16 kernels in attention_avx2.cc / attention_avx512.cc).
#include "engine/cpu/kv_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/cpu/attention_kernels.h"
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

// True when AttendHeads has an F16 SIMD kernel for this head size and CPU.
bool HasF16Simd(int head_dim, const CpuFeatures& features) {
  return (features.avx512 && head_dim % 16 == 0) || (features.avx2 && head_dim % 8 == 0);
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
    case TensorType::kF16: {
      if (!HasF16Simd(head_dim, features)) return AttendF16Plain(head_dim, q, k, v, stride, n_pos, scale, out, scratch);
      const AttentionRows row{q, out, 0, 0, 1, 1, &n_pos};
      return AttendHeads(type, head_dim, row, k, v, stride, scale, scratch, features);
    }
    default: return AttendQ8_0(head_dim, q, k, v, stride, n_pos, scale, out, scratch, features.avx2);
  }
}

void AttendHeads(TensorType type, int head_dim, const AttentionRows& rows, const uint8_t* k, const uint8_t* v,
                 size_t stride, float scale, std::vector<float>& scratch, const CpuFeatures& features) {
  if (type == TensorType::kF16 && features.avx512 && head_dim % 16 == 0) {
    return AttendF16RowsAvx512(head_dim, rows, k, v, stride, scale, scratch);
  }
  if (type == TensorType::kF16 && features.avx2 && head_dim % 8 == 0) {
    return AttendF16RowsAvx2(head_dim, rows, k, v, stride, scale, scratch);
  }
  for (int t = 0; t < rows.n_tokens; ++t) {
    for (int h = 0; h < rows.n_heads; ++h) {
      const size_t offset = static_cast<size_t>(h) * head_dim;
      AttendHead(type, head_dim, rows.q + t * rows.q_stride + offset, k, v, stride, rows.n_pos[t], scale,
                 rows.out + t * rows.out_stride + offset, scratch, features);
    }
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
