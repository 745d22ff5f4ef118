// AVX-512 VNNI tile kernels for the K-quants (Q4_K, Q5_K, Q6_K × Q8_K activations); the tile
// contract and the integer tricks are described in vec_dot_avx512_tile.h.
#include "engine/cpu/vec_dot_avx512_tile.h"

namespace dv::cpu::internal {
namespace {

using namespace avx512;  // its helpers and quant:: block types

// ---- Q4_K / Q5_K × Q8_K ----
//
// A super-block has 8 sub-blocks of 32; qs chunk c (32 bytes) holds sub-block 2c in its low
// nibbles and 2c+1 in its high nibbles. One 64-byte load of quants covers sub-blocks 4h .. 4h+3:
// masked, 16-byte lanes (4h 0..15, 4h 16..31, 4h+2 0..15, 4h+2 16..31); shifted, the same for
// 4h+1 and 4h+3. Two VSHUFI64X2 make register 2h = elements 0..15 of sub-blocks 4h, 4h+2, 4h+1,
// 4h+3 and register 2h+1 = their elements 16..31, the order of the activations
// (ActivationLayout::kQ8KSplitSubBlocks). Both registers of a half then hold each sub-block in
// the same four int32 lanes, so their VPDPBUSD products chain into one accumulator: 8 products
// per lane, |sum| <= 8 * 31 * 127 < 2^15 for Q5_K, and one PackPair + one VPMADDWD apply all 8
// sub-block scales.

// Float work per (row, activation row) runs on the same two pipes as VPDPBUSD (on this machine a
// 512-bit FMA costs as much as a VPDPBUSD), so it is kept to three 256-bit operations: the
// scaled int32 sums are folded to 8 lanes before conversion, and the mins' term is one FMA of
// per-row floats (min_j * dmin) with per-activation floats (d_y * sum of sub-block j, stored by
// ActivationLayout::kQ8KSplitSubBlocks in place of bsums).
struct RowK4 {
  __m512i q[4];     // weights of register k (above), unsigned bytes
  __m512i scales;   // int16 lanes: scales for PackPair(half 0 sums, half 1 sums)
  __m256 mins;      // min_j * dmin, sub-block j in lane j
  __m128 d_dmin;    // fp32 d, dmin in lanes 0, 1
};

// Two VPDPBUSD results, each 16 int32 lanes of 4-product sums (|sum| < 2^15 for every K-quant),
// packed into 32 int16 lanes: 128-bit lane L holds a's lanes 4L..4L+3 then b's lanes 4L..4L+3.
// One VPDPWSSD against a scale vector from a PairScaleTable then applies both registers' sub-block
// scales (adjacent int16 lanes always share a sub-block), halving the scale multiplies.
inline __m512i PackPair(__m512i a, __m512i b) { return _mm512_packs_epi32(a, b); }

// Index vector for VPERMW over a vector of int16 sub-block scales: int16 lane p of
// PackPair(dot_a, dot_b) gets the scale of its sub-block, where int32 lanes 4i..4i+3 of dot_a
// hold sub-block sub_a[i] (likewise dot_b, sub_b).
struct PairScaleTable {
  alignas(64) int16_t idx[32];
  constexpr PairScaleTable(const int (&sub_a)[4], const int (&sub_b)[4]) : idx{} {
    for (int p = 0; p < 32; ++p) {
      const int dword_lane = 4 * (p / 8) + p % 4;  // int32 lane of dot_a or dot_b it came from
      idx[p] = static_cast<int16_t>((p % 8 < 4 ? sub_a : sub_b)[dword_lane / 4]);
    }
  }
  __m512i Load() const { return _mm512_load_si512(idx); }
};

// Half h's sums: sub-blocks 4h, 4h+2, 4h+1, 4h+3 in int32 lanes 0..3, 4..7, 8..11, 12..15.
constexpr PairScaleTable kK4Scales({0, 2, 1, 3}, {4, 6, 5, 7});
// Q6_K register j: sub-blocks 4j .. 4j+3, four int32 lanes each.
constexpr PairScaleTable kQ6Scales[2] = {PairScaleTable({0, 1, 2, 3}, {4, 5, 6, 7}),
                                         PairScaleTable({8, 9, 10, 11}, {12, 13, 14, 15})};

template <bool kFiveBit>
inline void UnpackRowK45(const uint8_t* blk, RowK4* row) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  // d, dmin (and two scale bytes, ignored) as floats.
  row->d_dmin = _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk)));
  const __m128i scales_mins = UnpackScalesK4(blk + 4);
  row->scales = _mm512_permutexvar_epi16(kK4Scales.Load(), _mm512_castsi256_si512(_mm256_cvtepu8_epi16(scales_mins)));
  const __m256 dmin = _mm256_broadcastss_ps(_mm_movehdup_ps(row->d_dmin));
  row->mins = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(scales_mins, scales_mins))), dmin);
  const uint8_t* qs = kFiveBit ? reinterpret_cast<const BlockQ5_K*>(blk)->qs : reinterpret_cast<const BlockQ4_K*>(blk)->qs;
  __m512i lo[2], hi[2];  // (sub-blocks 4h, 4h+2), (4h+1, 4h+3) in 32-byte halves
  for (int h = 0; h < 2; ++h) {
    const __m512i raw = Load512(qs + 64 * h);
    lo[h] = _mm512_and_si512(raw, m4);
    hi[h] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
  }
  if constexpr (kFiveBit) {
    // Fifth bit of element l of sub-block s: bit s of qh[l]. With hh = (qh, qh >> 2), bit 4h of
    // hh is the bit of lo[h]'s sub-blocks 4h (bytes 0..31) and 4h+2 (bytes 32..63), and bit
    // 4h+1 that of hi[h].
    const __m256i qh = Load256(reinterpret_cast<const BlockQ5_K*>(blk)->qh);
    const __m512i hh = _mm512_inserti64x4(Zext(qh), _mm256_srli_epi16(qh, 2), 1);
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    lo[0] = _mm512_or_si512(lo[0], _mm512_and_si512(_mm512_slli_epi16(hh, 4), bit4));
    hi[0] = _mm512_or_si512(hi[0], _mm512_and_si512(_mm512_slli_epi16(hh, 3), bit4));
    lo[1] = _mm512_or_si512(lo[1], _mm512_and_si512(hh, bit4));
    hi[1] = _mm512_or_si512(hi[1], _mm512_and_si512(_mm512_srli_epi16(hh, 1), bit4));
  }
  for (int h = 0; h < 2; ++h) {
    row->q[2 * h] = _mm512_shuffle_i64x2(lo[h], hi[h], 0x88);      // 16-byte lanes 0, 2 of each
    row->q[2 * h + 1] = _mm512_shuffle_i64x2(lo[h], hi[h], 0xDD);  // lanes 1, 3
  }
}

template <int R, int T, bool kFiveBit>
void TileQ45_K(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
               size_t out_stride) {
  const size_t block_bytes = kFiveBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  __m256 acc[R][T], acc_min[R][T];  // d * d_y * scaled sums; -(min_j * dmin) * (d_y * bsum_j)
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = acc_min[r][t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    RowK4 row[R];
    __m256 d[R];  // d broadcast once per row
    for (int r = 0; r < R; ++r) {
      UnpackRowK45<kFiveBit>(w + r * w_stride + i * block_bytes, &row[r]);
      d[r] = _mm256_broadcastss_ps(row[r].d_dmin);
    }
#pragma GCC unroll 8  // keeps every accumulator in a register
    for (int t = 0; t < T; ++t) {
      const BlockQ8_K* y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + i;
      const __m256 y_sums = _mm256_loadu_ps(reinterpret_cast<const float*>(y->bsums));  // d_y * sub-block sums
      __m512i yq[4];
      for (int k = 0; k < 4; ++k) yq[k] = Load512(y->qs + 64 * k);
      for (int r = 0; r < R; ++r) {
        __m512i half_sums[2];
        for (int h = 0; h < 2; ++h) {
          const __m512i first = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * h], yq[2 * h]);
          half_sums[h] = _mm512_dpbusd_epi32(first, row[r].q[2 * h + 1], yq[2 * h + 1]);
        }
        const __m512i sumi = _mm512_madd_epi16(PackPair(half_sums[0], half_sums[1]), row[r].scales);
        const __m256i sum8 = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        const __m256 d_dy = _mm256_mul_ps(d[r], _mm256_set1_ps(y->d));
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum8), d_dy, acc[r][t]);
        acc_min[r][t] = _mm256_fnmadd_ps(row[r].mins, y_sums, acc_min[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      out[t * out_stride + r] = Hsum8(_mm256_add_ps(acc[r][t], acc_min[r][t]));
    }
  }
}

// ---- Q6_K × Q8_K ----
//
// 16 sub-blocks of 16; values q - 32 with q in 0..63. Register j (0..3) holds elements
// 64j .. 64j+63 (sub-blocks 4j .. 4j+3). The bias is removed with the Q8_K group sums:
// sum((q - 32) * y) * sc = sum(q * y) * sc - 32 * sc * bsum.

struct RowQ6 {
  __m512i q[4];
  __m512i scale2[2];  // int16 lanes: scales for PackPair(dot[2p], dot[2p+1])
  __m256i neg32_sc;   // int16: -32 * scale of each sub-block
  float d;
};

inline void UnpackRowQ6(const BlockQ6_K* x, RowQ6* row) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  row->d = H(x->d);
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x->scales));
  const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
  // Register j holds sub-blocks 4j .. 4j+3, four int32 lanes each.
  row->scale2[0] = _mm512_permutexvar_epi16(kQ6Scales[0].Load(), _mm512_castsi256_si512(sc16));
  row->scale2[1] = _mm512_permutexvar_epi16(kQ6Scales[1].Load(), _mm512_castsi256_si512(sc16));
  row->neg32_sc = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5));
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
  __m256 acc[R][T];  // 8 lanes: the 512-bit sums are folded before conversion (see RowK4)
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    RowQ6 row[R];
    for (int r = 0; r < R; ++r) UnpackRowQ6(reinterpret_cast<const BlockQ6_K*>(w + r * w_stride) + i, &row[r]);
#pragma GCC unroll 8  // keeps every accumulator in a register
    for (int t = 0; t < T; ++t) {
      const BlockQ8_K* y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + i;
      const __m256i bsums = Load256(y->bsums);
      __m512i yq[4];
      for (int j = 0; j < 4; ++j) yq[j] = Load512(y->qs + 64 * j);
      for (int r = 0; r < R; ++r) {
        __m512i pair[2];
        for (int p = 0; p < 2; ++p) {
          const __m512i dot0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * p], yq[2 * p]);
          const __m512i dot1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * p + 1], yq[2 * p + 1]);
          pair[p] = PackPair(dot0, dot1);
        }
        const __m512i sumi = _mm512_dpwssd_epi32(_mm512_madd_epi16(pair[0], row[r].scale2[0]), pair[1], row[r].scale2[1]);
        const __m256i bias = _mm256_madd_epi16(bsums, row[r].neg32_sc);
        const __m256i sum8 = _mm256_add_epi32(
            _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1)), bias);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum8), _mm256_set1_ps(row[r].d * y->d), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      out[t * out_stride + r] = Hsum8(acc[r][t]);
    }
  }
}

DV_TILE_KERNEL(KQ4_K, 1, (TileQ45_K<R, T, false>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ5_K, 1, (TileQ45_K<R, T, true>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ6_K, 1, (TileQ6_K<R, T>(n, w, ws, a, as, o, os)))
#undef DV_TILE_KERNEL

}  // namespace

DotKernel Avx512KQuantDot(TensorType weight) {
  switch (weight) {
#define DV_CASE(T, K, L, P)                                                                              \
  case TensorType::T:                                                                                      \
    return {&Dot<K>, &Multi<K>, "avx512", &DispatchTile<K>, ActivationLayout::L, Avx512PanelDot(TensorType::T), \
            PanelLayout::P};
    DV_CASE(kQ4_K, KQ4_K, kQ8KSplitSubBlocks, kQ8KForQ4K)
    DV_CASE(kQ5_K, KQ5_K, kQ8KSplitSubBlocks, kNone)
    DV_CASE(kQ6_K, KQ6_K, kStandard, kQ8KForQ6K)
#undef DV_CASE
    default: return {};
  }
}

}  // namespace dv::cpu::internal
