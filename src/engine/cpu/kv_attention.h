// Attention of query rows over the cached keys/values of one KV head, for each KV cache format
// (F32, F16, Q8_0). A row attends positions 0..n_pos-1 (the caller passes pos + 1 for a causal
// mask).
//
//   out[d] = Σ_p softmax_p(scale · q·k_p) · v_p[d]        q, k_p, v_p, out: head_dim values
//
// Memory: position p's key starts at k + p * stride bytes, its value at v + p * stride; one key or
// value row is head_dim values of the cache type (Q8_0: head_dim / 32 blocks of 34 bytes).
//
// Precision, per cache type:
//   F32  float scores, exact two-pass softmax summed in double: reference precision.
//   F16  as llama.cpp's CPU flash attention computes it for an F16 cache, so that our logits
//        reproduce llama.cpp's for the same GGUF file: q rounded to fp16, one pass with a running
//        max (online softmax) and the weighted sum of values kept in fp16 (rounded after every
//        position, in position order).
//   Q8_0 as llama.cpp does for a Q8_0 cache: q quantized to Q8_0 (the integer dot product with the
//        keys), online softmax, values dequantized and summed in float.
//
// Every format has a plain C++ path (the reference) and SIMD paths chosen at run time: AVX2 (+FMA,
// F16C) and, for F16, AVX-512. The SIMD paths perform the same roundings in the same order; for
// F16 they sum q·k in the order of llama.cpp's AVX-512 build (bit-identical scores) and compute
// e^x correctly rounded, as libm does. They differ from the plain path only in the order of the
// q·k sums (and S·ms + vs as one fma), so results agree to a few fp16 roundings (tested in
// tests/engine/runtime/attention_test.cc). AttendHeads gives the same result per row as
// AttendHead, bit for bit, but loads and converts each key/value row once for all its rows
// (grouped-query heads, and the tokens of one sequence in a prefill).
// Thread safety: pure functions; `scratch` is the caller's (one per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/cpu/cpu_features.h"
#include "engine/quant/tensor_type.h"

namespace dv::cpu {

// True for the cache formats AttendHead handles: F32, F16, and Q8_0 when head_dim % 32 == 0.
bool IsKvFormatSupported(quant::TensorType type, int head_dim);

// Bytes of one key (or value) row of head_dim values in `type`. REQUIRES IsKvFormatSupported.
size_t KvRowBytes(quant::TensorType type, int head_dim);

// Writes out[0..head_dim). REQUIRES: IsKvFormatSupported(type, head_dim), n_pos >= 1, q has
// head_dim floats. `scratch` is resized as needed.
void AttendHead(quant::TensorType type, int head_dim, const float* q, const uint8_t* k, const uint8_t* v,
                size_t stride, int n_pos, float scale, float* out, std::vector<float>& scratch,
                const CpuFeatures& features = Features());

// Query rows that attend the same keys/values: row (t, h), t < n_tokens, h < n_heads, reads its
// query at q + t * q_stride + h * head_dim, writes head_dim floats at out + t * out_stride +
// h * head_dim, and attends positions 0..n_pos[t]-1. Strides count floats. Queries and outputs
// must not overlap.
struct AttentionRows {
  const float* q = nullptr;
  float* out = nullptr;
  size_t q_stride = 0, out_stride = 0;
  int n_tokens = 0, n_heads = 0;
  const int* n_pos = nullptr;  // [n_tokens], each >= 1
};

// AttendHead for every row of `rows`. REQUIRES: IsKvFormatSupported(type, head_dim); k and v hold
// max(n_pos) positions. `scratch` is resized as needed (O(head_dim) floats per row, at most 64
// rows at a time).
void AttendHeads(quant::TensorType type, int head_dim, const AttentionRows& rows, const uint8_t* k, const uint8_t* v,
                 size_t stride, float scale, std::vector<float>& scratch, const CpuFeatures& features = Features());

// Converts n floats into a cache row of `type` (F16 rounds to nearest even; Q8_0 as llama.cpp's
// quantize_row_q8_0). REQUIRES IsKvFormatSupported(type, n).
void StoreKvRow(quant::TensorType type, const float* x, int n, uint8_t* out);

}  // namespace dv::cpu
