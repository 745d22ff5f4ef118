// Coefficients of the exponential used by the SIMD attention kernels (attention_avx2.cc,
// attention_avx512.cc): e^r ≈ Σ_{i<=11} r^i / i! for |r| <= ln2/2, in Horner order (highest
// power first). The first omitted term, (ln2/2)^12 / 12!, is 6e-15 relative.
#pragma once

namespace dv::cpu {

inline constexpr int kExpTerms = 12;
inline constexpr double kExpTaylor[kExpTerms] = {
    1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720,
    1.0 / 120,      1.0 / 24,      1.0 / 6,      1.0 / 2,     1.0,        1.0,
};

}  // namespace dv::cpu
