// Per-ISA kernel tables, implemented in vec_dot_<isa>.cc (each compiled with its own -m flags).
// Internal to src/engine/cpu: use vec_dot.h.
#pragma once

#include <cstdint>

#include "engine/cpu/vec_dot.h"

namespace dv::cpu::internal {

// nullptr when the ISA has no kernel for that weight type.
DotFn Avx2Dot(TensorType weight);
DotMultiFn Avx2DotMulti(TensorType weight);
float Avx2DotF32F16(int64_t n, const float* q, const uint16_t* k);
void Avx2AxpyF16(int64_t n, float a, const uint16_t* v, float* out);

// Activation quantizers, bit-identical to the plain ones (act_quant_avx2.cc).
void Avx2QuantizeQ8_0(const float* x, int64_t n, uint8_t* out);
void Avx2QuantizeQ8_K(const float* x, int64_t n, uint8_t* out);

// AVX-512 F/BW/VL/DQ + VNNI: fn, multi and tile for Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; {} otherwise.
DotKernel Avx512VnniDot(TensorType weight);
// The K-quant part of Avx512VnniDot (vec_dot_avx512_kquant.cc).
DotKernel Avx512KQuantDot(TensorType weight);
// Panel kernels (vec_dot_avx512_panel.cc): Q4_K, Q6_K; nullptr otherwise.
DotPanelFn Avx512PanelDot(TensorType weight);

}  // namespace dv::cpu::internal
