// AVX-512 VNNI tile kernels for the K-quants (Q4_K, Q5_K, Q6_K × Q8_K activations); the tile
// contract and the integer tricks are described in vec_dot_avx512_tile.h.
#include "engine/cpu/vec_dot_avx512_tile.h"

namespace dv::cpu::internal {
namespace {

using namespace avx512;  // its helpers and quant:: block types

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
  __m512i q[4];       // weights of sub-blocks (2k, 2k+1), unsigned bytes
  __m512i scale2[2];  // int16 lanes: scales for PackPair(dot[2p], dot[2p+1]) (below)
  __m256i mins;       // int16 pairs: min of sub-block j in lanes 2j, 2j+1
  float d, dmin;
};

// Two VPDPBUSD results, each 16 int32 lanes of 4-product sums (|sum| < 2^15 for every K-quant),
// packed into 32 int16 lanes: 128-bit lane L holds a's lanes 4L..4L+3 then b's lanes 4L..4L+3.
// One VPDPWSSD against PairScale16 then applies both registers' sub-block scales (adjacent int16
// lanes always share a sub-block), halving the scale multiplies.
inline __m512i PackPair(__m512i a, __m512i b) { return _mm512_packs_epi32(a, b); }

// Index vector for VPERMW over a vector of int16 sub-block scales: int16 lane p of
// PackPair(dot_a, dot_b) gets the scale of its sub-block, where dot_a's int32 lanes belong to
// sub-blocks first_a + lane / lanes_per_sub_block (likewise dot_b from first_b).
inline __m512i PairScaleIndex(int first_a, int first_b, int lanes_per_sub_block) {
  alignas(64) int16_t idx[32];
  for (int p = 0; p < 32; ++p) {
    const int dword_lane = 4 * (p / 8) + p % 4;  // int32 lane of dot_a or dot_b it came from
    idx[p] = static_cast<int16_t>((p % 8 < 4 ? first_a : first_b) + dword_lane / lanes_per_sub_block);
  }
  return _mm512_load_si512(idx);
}

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
  const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc))));
  // Register k holds sub-blocks 2k (lanes 0..7) and 2k+1 (lanes 8..15).
  row->scale2[0] = _mm512_permutexvar_epi16(PairScaleIndex(0, 2, 8), sc16);
  row->scale2[1] = _mm512_permutexvar_epi16(PairScaleIndex(4, 6, 8), sc16);
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
        for (int p = 0; p < 2; ++p) {
          const __m512i dot0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * p], yq[2 * p]);
          const __m512i dot1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * p + 1], yq[2 * p + 1]);
          sumi = _mm512_dpwssd_epi32(sumi, PackPair(dot0, dot1), row[r].scale2[p]);
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
  row->scale2[0] = _mm512_permutexvar_epi16(PairScaleIndex(0, 4, 4), _mm512_castsi256_si512(sc16));
  row->scale2[1] = _mm512_permutexvar_epi16(PairScaleIndex(8, 12, 4), _mm512_castsi256_si512(sc16));
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
  Acc<R, T> acc;
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    RowQ6 row[R];
    for (int r = 0; r < R; ++r) UnpackRowQ6(reinterpret_cast<const BlockQ6_K*>(w + r * w_stride) + i, &row[r]);
    for (int t = 0; t < T; ++t) {
      const BlockQ8_K* y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + i;
      const __m256i bsums = Load256(y->bsums);
      __m512i yq[4];
      for (int j = 0; j < 4; ++j) yq[j] = Load512(y->qs + 64 * j);
      for (int r = 0; r < R; ++r) {
        __m512i sumi = Zext(_mm256_madd_epi16(bsums, row[r].neg32_sc));
        for (int p = 0; p < 2; ++p) {
          const __m512i dot0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * p], yq[2 * p]);
          const __m512i dot1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), row[r].q[2 * p + 1], yq[2 * p + 1]);
          sumi = _mm512_dpwssd_epi32(sumi, PackPair(dot0, dot1), row[r].scale2[p]);
        }
        acc.v[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_set1_ps(row[r].d * y->d), acc.v[r][t]);
      }
    }
  }
  acc.Store(out, out_stride);
}

DV_TILE_KERNEL(KQ4_K, 1, (TileQ45_K<R, T, false>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ5_K, 1, (TileQ45_K<R, T, true>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ6_K, 1, (TileQ6_K<R, T>(n, w, ws, a, as, o, os)))
#undef DV_TILE_KERNEL

}  // namespace

DotKernel Avx512KQuantDot(TensorType weight) {
  switch (weight) {
#define DV_CASE(T, K) \
  case TensorType::T: return {&Dot<K>, &Multi<K>, "avx512", &DispatchTile<K>};
    DV_CASE(kQ4_K, KQ4_K)
    DV_CASE(kQ5_K, KQ5_K)
    DV_CASE(kQ6_K, KQ6_K)
#undef DV_CASE
    default: return {};
  }
}

}  // namespace dv::cpu::internal
