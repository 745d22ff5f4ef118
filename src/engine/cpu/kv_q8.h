// Q8_0 KV cache kernels (internal to kv_attention.cc; use kv_attention.h).
//
// A Q8_0 row is n / 32 blocks of {fp16 d, int8 q[32]}, value = d * q (34 bytes per 32 values,
// 53% of fp16). Keys are matched against the query quantized the same way (integer dot product
// per block, as llama.cpp does for a Q8_0 cache); values are dequantized and summed in float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dv::cpu {

// llama.cpp's quantize_row_q8_0 (x86 path): per block d = amax / 127, q = nearest-even(x * 127 / amax).
// REQUIRES n % 32 == 0; out has n / 32 * 34 bytes.
void QuantizeRowQ8_0(const float* x, int n, uint8_t* out);

// AttendHead for a Q8_0 cache (see kv_attention.h). REQUIRES hd % 32 == 0, n_pos >= 1.
void AttendQ8_0(int hd, const float* q, const uint8_t* k, const uint8_t* v, size_t stride, int n_pos, float scale,
                float* out, std::vector<float>& scratch, bool avx2);

}  // namespace dv::cpu
