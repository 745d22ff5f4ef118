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

}  // namespace dv::cpu::internal
