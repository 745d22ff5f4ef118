// AVX-512 VNNI tile kernels for the 32-element block formats (Q8_0, Q4_0 × Q8_0 activations) and
// the AVX-512 kernel table. The tile contract is described in vec_dot_avx512_tile.h; the decode
// tiles use its offset trick (unsigned weights), the prefill tiles the mirrored one (unsigned
// activations, below).
#include "engine/cpu/vec_dot_avx512_tile.h"

#include <algorithm>
#include <utility>

namespace dv::cpu::internal {
namespace {

using namespace avx512;  // its helpers and quant:: block types

// ---- Q8_0 / Q4_0 × Q8_0 ----
//
// One block of 32 per 256-bit register, summed in llama.cpp's order (its AVX2
// ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0): one 8-lane float accumulator, acc = fma(d_w · d_a,
// float(lane sums of block b), acc) block after block, then the 8 lanes added as hsum_float_8 does.
// Lane l's integer sum covers elements 4l..4l+3 and is exact, so Q8_0 matches llama.cpp's float
// rounding bit for bit (the oracle test's Q8_0 figures).

// The weight formats: Q8_0 holds int8 values; Q4_0 holds value + 8 in a nibble (element j in the low
// nibble of byte j, element j + 16 in its high nibble).
struct Q8_0Weights {
  using Block = BlockQ8_0;
  static constexpr int kOffset = 128;
  // The 32 values + kOffset as unsigned bytes, element order.
  static __m256i Unsigned(const Block* x) { return _mm256_xor_si256(Load256(x->qs), _mm256_set1_epi8(static_cast<char>(0x80))); }
  // The 32 values as signed bytes, element order.
  static __m256i Signed(const Block* x) { return Load256(x->qs); }
};

struct Q4_0Weights {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  static __m256i Unsigned(const Block* x) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x->qs));
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
  }
  static __m256i Signed(const Block* x) { return _mm256_sub_epi8(Unsigned(x), _mm256_set1_epi8(8)); }
};

template <typename W>
const typename W::Block* WeightBlock(const uint8_t* row, int64_t b) {
  return reinterpret_cast<const typename W::Block*>(row) + b;
}
inline const BlockQ8_0* ActBlock(const uint8_t* row, int64_t b) { return reinterpret_cast<const BlockQ8_0*>(row) + b; }

// Single-activation tiles (decode): R weight rows against one activation row. The weights are made
// unsigned (value + kOffset) and each block's dpbusd starts at -kOffset · Σy.
template <typename W, int R>
void TileRows32(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, float* out) {
  const int64_t nb = n / kBlockSize;
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(W::kOffset));
  __m256 acc[R];
  for (__m256& v : acc) v = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ8_0* y = ActBlock(a, b);
    const __m256i yq = Load256(y->qs);
    // (x + kOffset)·y − kOffset·Σy per lane: the exact lane sums of x·y.
    const __m256i neg_sum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, yq));
    const __m256 yd = _mm256_set1_ps(H(y->d));
    for (int r = 0; r < R; ++r) {
      const auto* x = WeightBlock<W>(w + r * w_stride, b);
      const __m256 q = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(neg_sum, W::Unsigned(x), yq));
      acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(H(x->d)), yd), q, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = Hsum8(acc[r]);
}

// Prefill tiles (T >= 2 activation rows). Per (row, activation, block) the work is one dpbusd, one
// int → float conversion and one fma whose factor d_w · d_a is broadcast from a table, so that the
// two FMA/multiply pipes (which dpbusd also uses) do little else:
//   * the products d_w · d_a of a block are computed 8 activations at a time (one multiply per
//     row), into a table of up to kChunk32 blocks;
//   * the activations are made unsigned (y + 128) and each weight block's dpbusd starts at
//     -128 · Σx, so the correction costs one dpbusd per (row, block), shared by the activations.
// The rows run in passes of two over the table's blocks: 2 × T accumulators + 2 weight blocks +
// 2 corrections + one activation block fit the 32 registers (4 × 8 accumulators would not); the
// accumulators wait in memory between passes.
// Every (row, activation) pair computes the same exact integer lane sums and the same float
// operations in the same order as TileRows32, so all tile shapes agree bit for bit.
constexpr int64_t kChunk32 = 32;  // blocks per table: R × 8 floats each (4 KiB for R = 4)

// dst[r * 8 + t] = d_w(r, b) · d_a(t, b) for r < R, t < 8 (zero for t >= T).
template <typename W, int R, int T>
inline void BlockScales(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int64_t b, float* dst) {
  static_assert(R <= 4 && T <= 8);
  __m128i ah = _mm_setzero_si128(), wh = _mm_setzero_si128();  // fp16 scales
  [&]<int... t>(std::integer_sequence<int, t...>) {
    ((ah = _mm_insert_epi16(ah, ActBlock(a + t * a_stride, b)->d, t)), ...);
  }(std::make_integer_sequence<int, T>());
  [&]<int... r>(std::integer_sequence<int, r...>) {
    ((wh = _mm_insert_epi16(wh, WeightBlock<W>(w + r * w_stride, b)->d, r)), ...);
  }(std::make_integer_sequence<int, R>());
  const __m256 ad = _mm256_cvtph_ps(ah);
  const __m256 wd = _mm256_castps128_ps256(_mm_cvtph_ps(wh));
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(dst + r * 8, _mm256_mul_ps(_mm256_permutexvar_ps(_mm256_set1_epi32(r), wd), ad));
  }
}

// Rows [r0, r0 + P) over blocks [b0, b0 + count), whose products are scale[k * R * 8 + r * 8 + t]
// (block b0 + k). acc: R × T accumulators, row-major, read unless b0 == 0 (then they start at 0).
template <typename W, int R, int P, int T>
inline void PrefillPass(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int r0, int64_t b0,
                        int64_t count, const float* scale, __m256* acc) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 c[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) c[p][t] = b0 == 0 ? _mm256_setzero_ps() : acc[(r0 + p) * T + t];
  for (int64_t k = 0; k < count; ++k) {
    const int64_t b = b0 + k;
    __m256i wq[P], corr[P];
    for (int p = 0; p < P; ++p) {
      wq[p] = W::Signed(WeightBlock<W>(w + (r0 + p) * w_stride, b));
      // -128 · (sum of each 4 weight values).
      corr[p] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), flip, wq[p]));
    }
    const float* s = scale + k * R * 8 + r0 * 8;
    for (int t = 0; t < T; ++t) {
      const __m256i yq = _mm256_xor_si256(Load256(ActBlock(a + t * a_stride, b)->qs), flip);  // y + 128, unsigned
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

template <typename W, int R, int T>
void TilePrefill32(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
                   size_t out_stride) {
  static_assert(R >= 1 && R <= 4 && T >= 2 && T <= 8);
  const int64_t nb = n / kBlockSize;
  alignas(32) __m256 acc[R * T];
  alignas(32) float scale[kChunk32 * R * 8];
  for (int64_t b0 = 0; b0 < nb; b0 += kChunk32) {
    const int64_t count = std::min(kChunk32, nb - b0);
    for (int64_t k = 0; k < count; ++k) BlockScales<W, R, T>(w, w_stride, a, a_stride, b0 + k, scale + k * R * 8);
    int r = 0;
    for (; r + 2 <= R; r += 2) PrefillPass<W, R, 2, T>(w, w_stride, a, a_stride, r, b0, count, scale, acc);
    if (r < R) PrefillPass<W, R, 1, T>(w, w_stride, a, a_stride, r, b0, count, scale, acc);
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[t * out_stride + r] = Hsum8(acc[r * T + t]);
}

template <typename W, int R, int T>
void Tile32(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
            size_t out_stride) {
  if constexpr (T == 1) {
    TileRows32<W, R>(n, w, w_stride, a, out);
  } else {
    TilePrefill32<W, R, T>(n, w, w_stride, a, a_stride, out, out_stride);
  }
}

DV_TILE_KERNEL(KQ8_0, 4, (Tile32<Q8_0Weights, R, T>(n, w, ws, a, as, o, os)))
DV_TILE_KERNEL(KQ4_0, 4, (Tile32<Q4_0Weights, R, T>(n, w, ws, a, as, o, os)))
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
