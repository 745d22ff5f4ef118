// Shared parts of the AVX-512 (F, BW, VL, DQ) + VNNI tile kernels (vec_dot_avx512.cc: Q8_0, Q4_0;
// vec_dot_avx512_kquant.cc: Q4_K, Q5_K, Q6_K). Include only from files compiled with those -m flags;
// their kernels are called only after Features() reported avx512_vnni.
//
// Every kernel is a tile: R weight rows × T activation rows, out[t * out_stride + r]. Each (r, t)
// pair runs exactly the same instruction sequence whatever the tile shape, so a tile's results
// are bit-identical to R*T single dot products (the tests and MatMul rely on that).
//
// Integer products use VPDPBUSD (unsigned byte × signed byte, four products summed into int32):
//   * K-quant weights are unsigned (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63 with bias 32 taken off
//     through the Q8_K group sums), so they feed VPDPBUSD directly;
//   * Q8_0/Q4_0 decode tiles make the weights unsigned (x + 128, Q4_0's nibbles as stored) and
//     start each VPDPBUSD at -128 * sum(y) (Q4_0: -8 * sum(y)); their prefill tiles make the
//     activations unsigned (y + 128) instead, so the -128 * sum(x) correction is computed once per
//     weight block for all activation rows (vec_dot_avx512.cc).
// K-quant sub-block scales are applied in int16: two registers of int32 group sums (each within
// int16: 4 * 63 * 127 for Q6_K, 8 * 31 * 127 for the chained Q4_K/Q5_K sums) are packed with
// saturation that never triggers into one register of 32 int16 lanes, and one VPMADDWD/VPDPWSSD
// against the lanes' sub-block scales gives exact int32 sums (vec_dot_avx512_kquant.cc).
#pragma once

#include <immintrin.h>

#include <cstring>

#include "engine/cpu/kernels_internal.h"

namespace dv::cpu::internal::avx512 {

using quant::BlockQ4_0;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;
using quant::kBlockSize;
using quant::kSuperBlockSize;

inline float H(uint16_t h) { return _cvtsh_ss(h); }

inline __m512i Load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i Load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i Zext(__m256i v) { return _mm512_zextsi256_si512(v); }

// Sum of 8 float lanes in a fixed order (the tiles' final reduction).
inline float Hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K super-block, one byte each: scales of
// sub-blocks 0..7 in bytes 0..7, mins in bytes 8..15. Scalar 64-bit arithmetic (about a dozen
// integer operations) leaves the vector pipes to the products.
struct ScalesMinsK4 {
  uint64_t scales, mins;  // byte j: sub-block j's scale, min
};
inline ScalesMinsK4 UnpackScalesMinsK4(const uint8_t* q) {
  uint64_t u01;
  uint32_t u2;
  std::memcpy(&u01, q, 8);
  std::memcpy(&u2, q + 8, 4);
  const uint64_t low = u01 & 0x3f3f3f3f3f3f3f3full;  // scales 0..3 | mins 0..3
  const uint64_t top_bits = (u01 >> 2) & 0x3030303030303030ull;
  const uint64_t nibbles = (u2 | (static_cast<uint64_t>(u2) << 28)) & 0x0f0f0f0f0f0f0f0full;
  const uint64_t high = nibbles | top_bits;  // scales 4..7 | mins 4..7
  return {(low & 0xffffffffull) | (high << 32), (low >> 32) | (high & 0xffffffff00000000ull)};
}
inline __m128i UnpackScalesK4(const uint8_t* q) {
  const ScalesMinsK4 sm = UnpackScalesMinsK4(q);
  return _mm_insert_epi64(_mm_cvtsi64_si128(static_cast<int64_t>(sm.scales)), static_cast<int64_t>(sm.mins), 1);
}

// ---- Dispatch: run-time tile shape → compile-time R, T. ----

// REQUIRES: 2 <= n_act <= kMaxTileActs (one activation row goes through DispatchTile's row loop).
template <template <int, int> class K, int R>
void RunActs(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int n_act, float* out,
             size_t out_stride) {
  switch (n_act) {
    case 2: return K<R, 2>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    case 3: return K<R, 3>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    case 4: return K<R, 4>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    case 5: return K<R, 5>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    case 6: return K<R, 6>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    case 7: return K<R, 7>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    default: return K<R, 8>::Run(n, w, w_stride, a, a_stride, out, out_stride);
  }
}

template <template <int, int> class K>
void DispatchTile(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, const uint8_t* a, size_t a_stride,
                  int n_act, float* out, size_t out_stride) {
  if (n_act == 1) {
    // Decode: a run of rows, one after another (one streaming row is fastest), without an
    // indirect call per row.
    for (int r = 0; r < n_rows; ++r) K<1, 1>::Run(n, w + r * w_stride, w_stride, a, a_stride, out + r, out_stride);
    return;
  }
  // Several activation rows: K's kPrefillRows weight rows at a time against up to kMaxTileActs
  // activation rows (then single rows for the remainder).
  constexpr int kRows = K<1, 1>::kPrefillRows;
  int r = 0;
  for (; r + kRows <= n_rows; r += kRows) RunActs<K, kRows>(n, w + r * w_stride, w_stride, a, a_stride, n_act, out + r, out_stride);
  for (; r < n_rows; ++r) RunActs<K, 1>(n, w + r * w_stride, w_stride, a, a_stride, n_act, out + r, out_stride);
}


template <template <int, int> class K>
float Dot(int64_t n, const uint8_t* w, const uint8_t* a) {
  float out;
  K<1, 1>::Run(n, w, 0, a, 0, &out, 1);
  return out;
}

template <template <int, int> class K>
void Multi(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, int n_act, float* out) {
  DispatchTile<K>(n, w, 0, 1, a, a_stride, n_act, out, 1);
}

// kPrefillRows: weight rows per tile when there are several activation rows. Q8_0/Q4_0 load and
// scale each activation block pair with ~8 instructions, worth sharing across rows; the K-quant
// tiles keep more per-row state and run faster with one row (bench_engine_kernels, Gemm).
#define DV_TILE_KERNEL(Name, Rows, Call)                                                                    \
  template <int R, int T>                                                                                   \
  struct Name {                                                                                             \
    static constexpr int kPrefillRows = Rows;                                                               \
    static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a, size_t as, float* o, size_t os) { \
      Call;                                                                                                 \
    }                                                                                                       \
  };

}  // namespace dv::cpu::internal::avx512
