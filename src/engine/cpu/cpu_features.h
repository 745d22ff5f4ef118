// Which SIMD instruction sets this CPU offers, detected once at first use.
//
// Thread safety: Features() is safe to call concurrently (function-local static).
#pragma once

#include <string>

namespace dv::cpu {

struct CpuFeatures {
  bool avx2 = false;  // with FMA and F16C (every AVX2 CPU deepvault targets has all three)
  bool avx512 = false;       // F, BW, VL, DQ
  bool avx512_vnni = false;  // VPDPBUSD (and BMI2, which the VNNI kernels also use)
  bool avx512_bf16 = false;  // VDPBF16PS
  // "avx2 avx512 avx512_vnni avx512_bf16" (only the ones present)
  std::string ToString() const;
};

// Detected features, possibly reduced by the DEEPVAULT_CPU environment variable ("plain", "avx2"):
// set it to force the plain C++ path or to cap the ISA level (used by tests and benchmarks).
const CpuFeatures& Features();

}  // namespace dv::cpu
