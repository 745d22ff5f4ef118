// The SwiGLU gate of the feed-forward block: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g).
//
// The AVX2 path evaluates e^x with a degree-7 polynomial after range reduction (relative error
// below 3e-7 over the whole float range, tested against std::exp); the plain path calls std::exp.
// e^-g is clamped to [e^-87.3, e^88.3]: silu(g) = g beyond 87.3 and a negligible negative
// number (|silu| < 1e-34) below -88.3, where std::exp gives -0.
//
// Thread safety: pure functions. `out` may alias `gate` or `up`.
#pragma once

#include <cstdint>

#include "engine/cpu/cpu_features.h"

namespace dv::cpu {

void SwiGlu(const float* gate, const float* up, int64_t n, float* out, const CpuFeatures& features = Features());

}  // namespace dv::cpu
