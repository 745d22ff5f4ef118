// AVX-512 (F, BW, VL, DQ) + VNNI kernels. Compiled with those -m flags; called only after
// Features() reported avx512_vnni.
//
// Every kernel is a tile: R weight rows × T activation rows, out[t * out_stride + r]. Each (r, t)
// pair runs exactly the same instruction sequence whatever the tile shape, so a tile's results
// are bit-identical to R*T single dot products (the tests and MatMul rely on that).
//
// Integer products use VPDPBUSD (unsigned byte × signed byte, four products summed into int32):
//   * K-quant weights are unsigned (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63 with bias 32 taken off
//     through the Q8_K group sums), so they feed VPDPBUSD directly;
//   * Q8_0 weights are made unsigned by flipping the sign bit (x + 128) and the accumulator starts
//     at -128 * sum(y); Q4_0 starts at -8 * sum(y).
// Sub-block scales multiply the int32 group sums with VPDPWSSD: a group sum of four byte products
// fits in int16 (|4 * 63 * 127| < 32768) and the scale sits in the low 16 bits of each int32 lane
// with zero above it, so one VPDPWSSD lane computes sum * scale exactly.
#include <immintrin.h>

#include <cstring>

#include "engine/cpu/kernels_internal.h"

namespace dv::cpu::internal {
namespace {

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

// Lane index vector: lane L holds base + L / group.
inline __m512i Spread(int base, int group) {
  alignas(64) int idx[16];
  for (int l = 0; l < 16; ++l) idx[l] = base + l / group;
  return _mm512_load_si512(idx);
}

// Tile state shared by the kernels: one float accumulator per (row, activation) pair.
template <int R, int T>
struct Acc {
  __m512 v[R][T];
  Acc() {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) v[r][t] = _mm512_setzero_ps();
  }
  void Store(float* out, size_t out_stride) const {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = _mm512_reduce_add_ps(v[r][t]);
  }
};

// ---- Q4_K / Q5_K × Q8_K ----
//
// A super-block has 8 sub-blocks of 32; qs chunk c (32 bytes) holds sub-block 2c in its low
// nibbles and 2c+1 in its high nibbles. Register k (k = 0..3) holds sub-blocks 2k, 2k+1 in order,
// matching the 64 activation bytes y.qs[64k .. 64k+63].

// The 8 six-bit scales and mins of a Q4_K/Q5_K super-block, one byte each.
inline void UnpackScalesK4(const uint8_t* q, uint64_t* scales, uint64_t* mins) {
  uint32_t u[3];
  std::memcpy(u, q, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3fu;
  const uint32_t mn_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  *scales = sc_lo | (static_cast<uint64_t>(sc_hi) << 32);
  *mins = mn_lo | (static_cast<uint64_t>(mn_hi) << 32);
}

struct RowK4 {
  __m512i q[4];      // weights of sub-blocks (2k, 2k+1), unsigned bytes
  __m512i scale[4];  // int32 lanes: scale of the lane's sub-block (low 16 bits)
  __m256i mins;      // int16 pairs: min of sub-block j in lanes 2j, 2j+1
  float d, dmin;
};

template <bool kFiveBit>
inline void UnpackRowK45(const uint8_t* blk, RowK4* row) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  uint16_t d_bits, dmin_bits;
  std::memcpy(&d_bits, blk, 2);
  std::memcpy(&dmin_bits, blk + 2, 2);
  row->d = H(d_bits);
  row->dmin = H(dmin_bits);
  uint64_t sc, mn;
  UnpackScalesK4(blk + 4, &sc, &mn);
  const __m512i sc32 = _mm512_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(sc)));
  for (int k = 0; k < 4; ++k) row->scale[k] = _mm512_permutexvar_epi32(Spread(2 * k, 8), sc32);
  const __m128i mn8 = _mm_cvtsi64_si128(static_cast<int64_t>(mn));
  row->mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
  const uint8_t* qs = kFiveBit ? reinterpret_cast<const BlockQ5_K*>(blk)->qs : reinterpret_cast<const BlockQ4_K*>(blk)->qs;
  for (int h = 0; h < 2; ++h) {
    const __m512i raw = Load512(qs + 64 * h);
    const __m512i lo = _mm512_and_si512(raw, m4);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
    row->q[2 * h] = _mm512_shuffle_i64x2(lo, hi, 0x44);
    row->q[2 * h + 1] = _mm512_shuffle_i64x2(lo, hi, 0xEE);
  }
  if constexpr (kFiveBit) {
    // Fifth bit of element l of sub-block s: bit s of qh[l]. Bytes 32..63 of register k need bit
    // 2k+1, so the upper half holds qh >> 1.
    const __m256i qh = Load256(reinterpret_cast<const BlockQ5_K*>(blk)->qh);
    const __m512i hh = _mm512_inserti64x4(Zext(qh), _mm256_srli_epi16(qh, 1), 1);
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    row->q[0] = _mm512_or_si512(row->q[0], _mm512_and_si512(_mm512_slli_epi16(hh, 4), bit4));
    row->q[1] = _mm512_or_si512(row->q[1], _mm512_and_si512(_mm512_slli_epi16(hh, 2), bit4));
    row->q[2] = _mm512_or_si512(row->q[2], _mm512_and_si512(hh, bit4));
    row->q[3] = _mm512_or_si512(row->q[3], _mm512_and_si512(_mm512_srli_epi16(hh, 2), bit4));
  }
}

template <int R, int T, bool kFiveBit>
void TileQ45_K(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
               size_t out_stride) {
  const size_t block_bytes = kFiveBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  Acc<R, T> acc;
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    RowK4 row[R];
    for (int r = 0; r < R; ++r) UnpackRowK45<kFiveBit>(w + r * w_stride + i * block_bytes, &row[r]);
    for (int t = 0; t < T; ++t) {
      const BlockQ8_K* y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + i;
      const __m256i bsums = Load256(y->bsums);
      __m512i yq[4];
      for (int k = 0; k < 4; ++k) yq[k] = Load512(y->qs + 64 * k);
      for (int r = 0; r < R; ++r) {
        __m512i sumi = _mm512_setzero_si512();
        for (int k = 0; k < 4; ++k) {
          const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[k], yq[k]);
          sumi = _mm512_dpwssd_epi32(sumi, dot, row[r].scale[k]);
        }
        const __m512i mins = Zext(_mm256_madd_epi16(bsums, row[r].mins));
        acc.v[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_set1_ps(row[r].d * y->d), acc.v[r][t]);
        acc.v[r][t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins), _mm512_set1_ps(row[r].dmin * y->d), acc.v[r][t]);
      }
    }
  }
  acc.Store(out, out_stride);
}

// ---- Q6_K × Q8_K ----
//
// 16 sub-blocks of 16; values q - 32 with q in 0..63. Register j (0..3) holds elements
// 64j .. 64j+63 (sub-blocks 4j .. 4j+3). The bias is removed with the Q8_K group sums:
// sum((q - 32) * y) * sc = sum(q * y) * sc - 32 * sc * bsum.

struct RowQ6 {
  __m512i q[4];
  __m512i scale[4];   // int32 lanes: sub-block scale in the low 16 bits
  __m256i neg32_sc;   // int16: -32 * scale of each sub-block
  float d;
};

inline void UnpackRowQ6(const BlockQ6_K* x, RowQ6* row) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  row->d = H(x->d);
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x->scales));
  const __m512i sc32 = _mm512_and_si512(_mm512_cvtepi8_epi32(sc8), _mm512_set1_epi32(0xFFFF));
  for (int j = 0; j < 4; ++j) row->scale[j] = _mm512_permutexvar_epi32(Spread(4 * j, 4), sc32);
  row->neg32_sc = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(sc8), 5));
  for (int c = 0; c < 2; ++c) {
    const __m512i ql = Load512(x->ql + 64 * c);
    const __m256i qh = Load256(x->qh + 32 * c);
    // Bytes 0..31: qh (bits 0-1 for elements 0..31, bits 4-5 for 64..95);
    // bytes 32..63: qh >> 2 (bits 2-3 for elements 32..63, bits 6-7 for 96..127).
    const __m512i hh = _mm512_inserti64x4(Zext(qh), _mm256_srli_epi16(qh, 2), 1);
    const __m512i high0 = _mm512_and_si512(_mm512_slli_epi16(hh, 4), m30);
    const __m512i high1 = _mm512_and_si512(hh, m30);
    row->q[2 * c] = _mm512_or_si512(_mm512_and_si512(ql, m4), high0);
    row->q[2 * c + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), high1);
  }
}

template <int R, int T>
void TileQ6_K(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
              size_t out_stride) {
  Acc<R, T> acc;
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    RowQ6 row[R];
    for (int r = 0; r < R; ++r) UnpackRowQ6(reinterpret_cast<const BlockQ6_K*>(w + r * w_stride) + i, &row[r]);
    for (int t = 0; t < T; ++t) {
      const BlockQ8_K* y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + i;
      const __m512i bsums = Zext(Load256(y->bsums));
      __m512i yq[4];
      for (int j = 0; j < 4; ++j) yq[j] = Load512(y->qs + 64 * j);
      for (int r = 0; r < R; ++r) {
        __m512i sumi = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bsums, Zext(row[r].neg32_sc));
        for (int j = 0; j < 4; ++j) {
          const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[j], yq[j]);
          sumi = _mm512_dpwssd_epi32(sumi, dot, row[r].scale[j]);
        }
        acc.v[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_set1_ps(row[r].d * y->d), acc.v[r][t]);
      }
    }
  }
  acc.Store(out, out_stride);
}

// ---- Q8_0 / Q4_0 × Q8_0 ----
//
// Q4_0 takes blocks of 32 two at a time (one 512-bit register, one block per 256-bit half; an odd
// last block uses the lower half only, the upper half zero on both sides). Q8_0 takes one block per
// 256-bit register so that its float sums run in llama.cpp's order (below).

// Two fp16 scales → lanes 0..7 = first, 8..15 = second.
inline __m512 PairScale(uint16_t d0, uint16_t d1) {
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d0 | (static_cast<uint32_t>(d1) << 16))));
  return _mm512_permutexvar_ps(Spread(0, 8), _mm512_castps128_ps512(f));
}

// Activation blocks b and b+1 (or b alone when `pair` is false), for the Q4_0 tile.
struct ActPair {
  __m512i q;
  __m512i neg_sum;  // -8 * (sum of each 4 activation bytes): Q4_0's offset
  __m512 d;
};

inline void LoadActPair(const BlockQ8_0* y, bool pair, ActPair* out) {
  const __m256i lo = Load256(y[0].qs);
  out->q = pair ? _mm512_inserti64x4(Zext(lo), Load256(y[1].qs), 1) : Zext(lo);
  const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), out->q);
  out->neg_sum = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
  out->d = PairScale(y[0].d, pair ? y[1].d : 0);
}

// Q8_0 sums in llama.cpp's order (its AVX2 ggml_vec_dot_q8_0_q8_0): one 8-lane float accumulator,
// acc = fma(d_w * d_a, float(lane sums of block b), acc) block after block, then the 8 lanes added
// as hsum_float_8 does. The integer lane sums are exact either way, so this matches llama.cpp's
// float rounding bit for bit (the oracle test's Q8_0 figures).
template <int R, int T>
struct Acc8 {
  __m256 v[R][T];
  Acc8() {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) v[r][t] = _mm256_setzero_ps();
  }
  void Store(float* out, size_t out_stride) const {
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) {
        __m128 s = _mm_add_ps(_mm256_extractf128_ps(v[r][t], 1), _mm256_castps256_ps128(v[r][t]));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        out[t * out_stride + r] = _mm_cvtss_f32(s);
      }
    }
  }
};

template <int R, int T>
void TileQ8_0(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
              size_t out_stride) {
  const int64_t nb = n / kBlockSize;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(128));
  Acc8<R, T> acc;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i wq[R];
    __m256 wd[R];
    for (int r = 0; r < R; ++r) {
      const BlockQ8_0* x = reinterpret_cast<const BlockQ8_0*>(w + r * w_stride) + b;
      wq[r] = _mm256_xor_si256(Load256(x->qs), flip);  // x + 128, unsigned
      wd[r] = _mm256_set1_ps(H(x->d));
    }
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0* y = reinterpret_cast<const BlockQ8_0*>(a + t * a_stride) + b;
      const __m256i yq = Load256(y->qs);
      // (x + 128)·y − 128·Σy per lane: the exact lane sums of x·y.
      const __m256i neg_sum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, yq));
      const __m256 yd = _mm256_set1_ps(H(y->d));
      for (int r = 0; r < R; ++r) {
        const __m256 q = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(neg_sum, wq[r], yq));
        acc.v[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(wd[r], yd), q, acc.v[r][t]);
      }
    }
  }
  acc.Store(out, out_stride);
}

template <int R, int T>
void TileQ4_0(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
              size_t out_stride) {
  const int64_t nb = n / kBlockSize;
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  Acc<R, T> acc;
  for (int64_t b = 0; b < nb; b += 2) {
    const bool pair = b + 1 < nb;
    __m512i wq[R];
    __m512 wd[R];
    for (int r = 0; r < R; ++r) {
      const BlockQ4_0* x = reinterpret_cast<const BlockQ4_0*>(w + r * w_stride) + b;
      // Block qs: element j in the low nibble of byte j, element j + 16 in its high nibble.
      const __m128i raw0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[0].qs));
      const __m128i raw1 = pair ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[1].qs)) : _mm_setzero_si128();
      const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(raw0), raw1, 1);
      // 128-bit lanes [lo0, lo1, hi0, hi1] → [lo0, hi0, lo1, hi1].
      const __m512i nib = _mm512_and_si512(_mm512_inserti64x4(Zext(both), _mm256_srli_epi16(both, 4), 1), m4);
      wq[r] = _mm512_shuffle_i64x2(nib, nib, 0xD8);  // zero in the upper half when !pair
      wd[r] = PairScale(x[0].d, pair ? x[1].d : 0);
    }
    for (int t = 0; t < T; ++t) {
      ActPair y;
      LoadActPair(reinterpret_cast<const BlockQ8_0*>(a + t * a_stride) + b, pair, &y);
      for (int r = 0; r < R; ++r) {
        const __m512i dot = _mm512_dpbusd_epi32(y.neg_sum, wq[r], y.q);
        acc.v[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(wd[r], y.d), acc.v[r][t]);
      }
    }
  }
  acc.Store(out, out_stride);
}

// ---- Dispatch: run-time tile shape → compile-time R, T. ----

template <template <int, int> class K, int R>
void RunActs(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int n_act, float* out,
             size_t out_stride) {
  switch (n_act) {
    case 1: return K<R, 1>::Run(n, w, w_stride, a, a_stride, out, out_stride);
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
    switch (n_rows) {
      case 1: return K<1, 1>::Run(n, w, w_stride, a, a_stride, out, out_stride);
      case 2: return K<2, 1>::Run(n, w, w_stride, a, a_stride, out, out_stride);
      case 3: return K<3, 1>::Run(n, w, w_stride, a, a_stride, out, out_stride);
      default: return K<4, 1>::Run(n, w, w_stride, a, a_stride, out, out_stride);
    }
  }
  // Several activation rows: K's kPrefillRows weight rows at a time against up to kMaxTileActs
  // activation rows (then single rows for the remainder).
  constexpr int kRows = K<1, 1>::kPrefillRows;
  int r = 0;
  for (; r + kRows <= n_rows; r += kRows) RunActs<K, kRows>(n, w + r * w_stride, w_stride, a, a_stride, n_act, out + r, out_stride);
  for (; r < n_rows; ++r) RunActs<K, 1>(n, w + r * w_stride, w_stride, a, a_stride, n_act, out + r, out_stride);
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
DV_TILE_KERNEL(KQ8_0, 4, (TileQ8_0<R, T>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ4_0, 4, (TileQ4_0<R, T>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ4_K, 1, (TileQ45_K<R, T, false>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ5_K, 1, (TileQ45_K<R, T, true>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ6_K, 1, (TileQ6_K<R, T>(n, w, ws, a, as, o, os)))
#undef DV_TILE_KERNEL

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

}  // namespace

DotKernel Avx512VnniDot(TensorType weight) {
  switch (weight) {
#define DV_CASE(T, K) \
  case TensorType::T: return {&Dot<K>, &Multi<K>, "avx512", &DispatchTile<K>};
    DV_CASE(kQ8_0, KQ8_0)
    DV_CASE(kQ4_0, KQ4_0)
    DV_CASE(kQ4_K, KQ4_K)
    DV_CASE(kQ5_K, KQ5_K)
    DV_CASE(kQ6_K, KQ6_K)
#undef DV_CASE
    default: return {};
  }
}

}  // namespace dv::cpu::internal
