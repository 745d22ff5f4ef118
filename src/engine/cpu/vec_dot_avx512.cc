// AVX-512 VNNI tile kernels for the 32-element block formats (Q8_0, Q4_0 × Q8_0 activations) and
// the AVX-512 kernel table; the tile contract and the integer tricks are described in
// vec_dot_avx512_tile.h.
#include "engine/cpu/vec_dot_avx512_tile.h"

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
