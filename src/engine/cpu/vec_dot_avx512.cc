// AVX-512 VNNI tile kernels for the 32-element block formats (Q8_0, Q4_0 × Q8_0 activations) and
// the AVX-512 kernel table; the tile contract and the integer tricks are described in
// vec_dot_avx512_tile.h.
#include "engine/cpu/vec_dot_avx512_tile.h"

#include <algorithm>
#include <utility>

namespace dv::cpu::internal {
namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;
using quant::kBlockSize;
using quant::kSuperBlockSize;
using namespace avx512;

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
inline float Hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int R, int T>
struct Acc8 {
  __m256 v[R][T];
  Acc8() {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) v[r][t] = _mm256_setzero_ps();
  }
  void Store(float* out, size_t out_stride) const {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = Hsum8(v[r][t]);
  }
};

// Single-activation tiles (decode): R weight rows against one activation row. The weights are made
// unsigned (x + 128) and each block's dpbusd starts at -128 * Σy.
template <int R, int T>
void TileQ8_0Rows(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
                  size_t out_stride) {
  const int64_t nb = n / kBlockSize;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
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
      const __m256i neg_sum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), flip, yq));
      const __m256 yd = _mm256_set1_ps(H(y->d));
      for (int r = 0; r < R; ++r) {
        const __m256 q = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(neg_sum, wq[r], yq));
        acc.v[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(wd[r], yd), q, acc.v[r][t]);
      }
    }
  }
  acc.Store(out, out_stride);
}

// Prefill tiles (T >= 2 activation rows). Per (row, activation, block) the work is one dpbusd, one
// int → float conversion and one fma whose factor d_w · d_a is broadcast from a table, so that the
// two FMA/multiply pipes (which dpbusd also uses) do little else:
//   * the products d_w · d_a of a block are computed 8 activations at a time (one multiply per
//     row), into a table of kQ8Chunk blocks;
//   * the activations are made unsigned (y + 128) and each weight block's dpbusd starts at
//     -128 · Σx, so the correction costs one dpbusd per (row, block) instead of one per
//     (activation, block) and row group.
// The rows run in passes of two: 2 × T accumulators + 2 weight blocks + 2 corrections + one
// activation block fit the 32 registers (4 × 8 accumulators would not); the accumulators wait in
// memory between passes. The first pass also fills the next block's scale products.
// Every (row, activation) pair computes the same exact integer lane sums and the same float
// operations in the same order as TileQ8_0Rows, so all tile shapes agree bit for bit.
constexpr int64_t kQ8Chunk = 32;  // blocks per table: R × 8 floats each (4 KiB for R = 4)

// dst[r * 8 + t] = d_w(r, b) · d_a(t, b) for r < R, t < 8 (zero for t >= T).
template <int R, int T>
inline void Q8_0Scales(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int64_t b, float* dst) {
  static_assert(R <= 4 && T <= 8);
  __m128i ah = _mm_setzero_si128(), wh = _mm_setzero_si128();  // fp16 scales
  auto scale_of = [b](const uint8_t* row) { return (reinterpret_cast<const BlockQ8_0*>(row) + b)->d; };
  [&]<int... t>(std::integer_sequence<int, t...>) {
    ((ah = _mm_insert_epi16(ah, scale_of(a + t * a_stride), t)), ...);
  }(std::make_integer_sequence<int, T>());
  [&]<int... r>(std::integer_sequence<int, r...>) {
    ((wh = _mm_insert_epi16(wh, scale_of(w + r * w_stride), r)), ...);
  }(std::make_integer_sequence<int, R>());
  const __m256 ad = _mm256_cvtph_ps(ah);
  const __m256 wd = _mm256_castps128_ps256(_mm_cvtph_ps(wh));
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(dst + r * 8, _mm256_mul_ps(_mm256_permutexvar_ps(_mm256_set1_epi32(r), wd), ad));
  }
}

// Rows [r0, r0 + P) over blocks [b0, b0 + count). scale[k * R * 8 + r * 8 + t] holds the products
// of block b0 + k; with kFill the pass computes those of block b0 + k + 1 while it works on block
// b0 + k (the caller computed block b0's). acc: R × T accumulators, row-major.
template <int R, int P, int T, bool kFill>
inline void Q8_0Pass(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int r0, int64_t b0,
                     int64_t count, float* scale, __m256* acc) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 c[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) c[p][t] = acc[(r0 + p) * T + t];
  for (int64_t k = 0; k < count; ++k) {
    const int64_t b = b0 + k;
    if (kFill && k + 1 < count) Q8_0Scales<R, T>(w, w_stride, a, a_stride, b + 1, scale + (k + 1) * R * 8);
    __m256i wq[P], corr[P];
    for (int p = 0; p < P; ++p) {
      const BlockQ8_0* x = reinterpret_cast<const BlockQ8_0*>(w + (r0 + p) * w_stride) + b;
      wq[p] = Load256(x->qs);
      // -128 · (sum of each 4 weight bytes).
      corr[p] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), flip, wq[p]));
    }
    const float* s = scale + k * R * 8 + r0 * 8;
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0* y = reinterpret_cast<const BlockQ8_0*>(a + t * a_stride) + b;
      const __m256i yq = _mm256_xor_si256(Load256(y->qs), flip);  // y + 128, unsigned
      for (int p = 0; p < P; ++p) {
        // (y + 128)·x − 128·Σx per lane: the exact lane sums of x·y.
        const __m256 q = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(corr[p], yq, wq[p]));
        c[p][t] = _mm256_fmadd_ps(_mm256_broadcast_ss(s + p * 8 + t), q, c[p][t]);
      }
    }
  }
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) acc[(r0 + p) * T + t] = c[p][t];
}

template <int R, int T>
void TileQ8_0Prefill(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
                     size_t out_stride) {
  static_assert(R >= 1 && R <= 4 && T >= 2 && T <= 8);
  const int64_t nb = n / kBlockSize;
  alignas(32) __m256 acc[R * T];
  for (__m256& v : acc) v = _mm256_setzero_ps();
  alignas(32) float scale[kQ8Chunk * R * 8];
  for (int64_t b0 = 0; b0 < nb; b0 += kQ8Chunk) {
    const int64_t count = std::min(kQ8Chunk, nb - b0);
    Q8_0Scales<R, T>(w, w_stride, a, a_stride, b0, scale);
    if constexpr (R == 1) {
      Q8_0Pass<R, 1, T, true>(w, w_stride, a, a_stride, 0, b0, count, scale, acc);
    } else {
      Q8_0Pass<R, 2, T, true>(w, w_stride, a, a_stride, 0, b0, count, scale, acc);
      if constexpr (R == 3) Q8_0Pass<R, 1, T, false>(w, w_stride, a, a_stride, 2, b0, count, scale, acc);
      if constexpr (R == 4) Q8_0Pass<R, 2, T, false>(w, w_stride, a, a_stride, 2, b0, count, scale, acc);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[t * out_stride + r] = Hsum8(acc[r * T + t]);
}

template <int R, int T>
void TileQ8_0(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
              size_t out_stride) {
  if constexpr (T == 1) {
    TileQ8_0Rows<R, T>(n, w, w_stride, a, a_stride, out, out_stride);
  } else {
    TileQ8_0Prefill<R, T>(n, w, w_stride, a, a_stride, out, out_stride);
  }
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

DV_TILE_KERNEL(KQ8_0, 4, (TileQ8_0<R, T>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ4_0, 4, (TileQ4_0<R, T>(n, w, ws, a, as, o, os)))
#undef DV_TILE_KERNEL

}  // namespace

DotKernel Avx512VnniDot(TensorType weight) {
  switch (weight) {
#define DV_CASE(T, K) \
  case TensorType::T: return {&Dot<K>, &Multi<K>, "avx512", &DispatchTile<K>};
    DV_CASE(kQ8_0, KQ8_0)
    DV_CASE(kQ4_0, KQ4_0)
#undef DV_CASE
    default: return Avx512KQuantDot(weight);
  }
}

}  // namespace dv::cpu::internal
