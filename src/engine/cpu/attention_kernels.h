// SIMD attention kernels behind kv_attention.h (internal to dv_cpu; tests call them directly).
//
// Each ISA's kernels live in their own file compiled for that ISA (attention_avx2.cc: AVX2 + FMA
// + F16C; attention_avx512.cc: AVX-512 F/BW/VL/DQ); the dispatcher in kv_attention.cc calls them
// only when Features() reports the ISA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/cpu/kv_attention.h"

namespace dv::cpu {

// AttendHeads for an F16 cache with llama.cpp's per-position fp16 rounding (kv_attention.h).
// REQUIRES: head_dim % 8 == 0 (AVX2) or % 16 == 0 (AVX-512); every rows.n_pos[t] >= 1.
void AttendF16RowsAvx2(int head_dim, const AttentionRows& rows, const uint8_t* k, const uint8_t* v, size_t stride,
                       float scale, std::vector<float>& scratch);
void AttendF16RowsAvx512(int head_dim, const AttentionRows& rows, const uint8_t* k, const uint8_t* v, size_t stride,
                         float scale, std::vector<float>& scratch);

// y[i] = e^x[i] for i < n, computed in double and rounded once: the correctly rounded float (what
// libm's expf returns) unless e^x lies within 1e-15 relative of a rounding boundary. e^-inf = 0,
// e^NaN = NaN, overflow gives +inf, subnormal results are rounded once. x and y may alias.
void ExpAvx2(const float* x, float* y, int n);
void ExpAvx512(const float* x, float* y, int n);

}  // namespace dv::cpu
