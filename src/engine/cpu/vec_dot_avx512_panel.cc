// AVX-512 VNNI panel kernels: Q4_K and Q6_K weight rows × an 8-token Q8_K activation panel
// (activation_panel.h has the panel's byte layout).
//
// Each VPDPBUSD takes 8 weights broadcast to all lanes (unsigned, VPBROADCASTQ from memory: a load,
// no ALU work) against one panel register (signed), so dword lane 2t + h sums 4 products of token
// t. Q6_K weights are unpacked per (row, super-block) to 256 bytes on the stack first; Q4_K's are
// broadcast from the nibbles and masked (below): on this Zen 4 four 512-bit stores cost the VNNI
// pipes about as much as six VPDPBUSD, sixteen VPANDQ nothing (bench_machine VectorOps).
// Sub-block scales are applied with VPMULLD, one per sub-block and row for all 8 tokens.
// The mins (Q4_K) and the -32 bias (Q6_K) come from the panel's sub-block sums with VPDPWSSD; the
// float work is three 512-bit operations per (row, super-block) for all 8 tokens.
//
// Token t has int32 lanes 2t and 2t + 1 in a row's sums; the panel's pairs and scales use the same
// lanes, and each token's result is its two lanes added.
#include "engine/cpu/activation_panel.h"
#include "engine/cpu/vec_dot_avx512_tile.h"

#include <algorithm>

namespace dv::cpu::internal {
namespace {

using namespace avx512;  // its helpers and quant:: block types

// 8 bytes at p in every qword lane (VPBROADCASTQ from memory).
inline __m512i BroadcastQ(const uint8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm512_set1_epi64(v);
}
// 16 bytes at p in every 128-bit lane. REQUIRES: p 16-byte aligned.
inline __m512i Broadcast128(const void* p) { return _mm512_broadcast_i32x4(_mm_load_si128(static_cast<const __m128i*>(p))); }

// Each token's result: its two lanes added.
inline void StoreTokens(__m512 acc, int n_act, float* out, size_t out_stride) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc);
  for (int t = 0; t < n_act; ++t) out[t * out_stride] = lanes[2 * t] + lanes[2 * t + 1];
}

// ---- Q4_K ----

// The weights are not unpacked to memory: each VPDPBUSD takes 8 bytes of qs broadcast (a load) and
// masked, 0x0F giving 8 values of sub-block 2c, 0xF0 16 times 8 values of sub-block 2c + 1 (qs
// chunk c holds them in its low and high nibbles). Each sub-block's chain (4 VPDPBUSD) is scaled
// in int32 with VPMULLD against its scale broadcast from memory; the odd sub-blocks' sum is
// divided by 16 once per super-block (exact). Scales and mins reach the stack through 64-bit
// integer stores (no vector work: a 512-bit store costs the VNNI pipes).
struct alignas(64) RowQ4KScales {
  int32_t scales[8];  // sub-block j's scale
  int16_t mins[8];    // 8 bytes per pair register k: (m_{4k}, m_{4k+1}), (m_{4k+2}, m_{4k+3})
};

inline void UnpackScalesQ4KPanel(const BlockQ4_K* x, RowQ4KScales* row) {
  const ScalesMinsK4 sm = UnpackScalesMinsK4(x->scales);
  for (int j = 0; j < 8; j += 2) {
    const uint64_t pair = _pdep_u64(sm.scales >> (8 * j), 0x000000FF000000FFull);  // scales j, j + 1
    std::memcpy(row->scales + j, &pair, 8);
  }
  const uint64_t mins_lo = _pdep_u64(sm.mins, 0x00FF00FF00FF00FFull), mins_hi = _pdep_u64(sm.mins >> 32, 0x00FF00FF00FF00FFull);
  std::memcpy(row->mins, &mins_lo, 8);
  std::memcpy(row->mins + 4, &mins_hi, 8);
}

// qs chunk c of R rows (qs[r]: row r's block): sums[r] += s_{2c} × the chain of sub-block 2c;
// odd_sums[r] += 16 × s_{2c+1} × the chain of sub-block 2c + 1.
template <int R>
[[gnu::always_inline]] inline void ChunkQ4K(const uint8_t* p, const uint8_t* const* qs, const RowQ4KScales* row, int c,
                                            __m512i* sums, __m512i* odd_sums) {
  const __m512i low = _mm512_set1_epi8(0x0F), high = _mm512_set1_epi8(static_cast<char>(0xF0));
  __m512i even[R], odd[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) even[r] = odd[r] = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const __m512i y_even = Load512(p + 64 * (8 * c + g)), y_odd = Load512(p + 64 * (8 * c + 4 + g));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i q = BroadcastQ(qs[r] + 32 * c + 8 * g);
      even[r] = _mm512_dpbusd_epi32(even[r], _mm512_and_si512(q, low), y_even);
      odd[r] = _mm512_dpbusd_epi32(odd[r], _mm512_and_si512(q, high), y_odd);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    sums[r] = _mm512_add_epi32(sums[r], _mm512_mullo_epi32(even[r], _mm512_set1_epi32(row[r].scales[2 * c])));
    odd_sums[r] = _mm512_add_epi32(odd_sums[r], _mm512_mullo_epi32(odd[r], _mm512_set1_epi32(row[r].scales[2 * c + 1])));
  }
}

template <int R>
void PanelQ4_K(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* panel, int n_act, float* out,
               size_t out_stride) {
  constexpr size_t kPairsAt = kPanelQuantBytes, kScalesAt = kPanelQuantBytes + 2 * 64;
  constexpr size_t kSuperBlockBytes = kScalesAt + kPanelScaleBytes;
  auto block = [&](int r, int64_t i) { return reinterpret_cast<const BlockQ4_K*>(w + r * w_stride) + i; };
  __m512 acc[R];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const uint8_t* p = panel + i * kSuperBlockBytes;
    RowQ4KScales row[R];
    const uint8_t* qs[R];
    for (int r = 0; r < R; ++r) {
      UnpackScalesQ4KPanel(block(r, i), &row[r]);
      qs[r] = block(r, i)->qs;
    }
    __m512i sums[R], odd_sums[R];  // odd_sums: 16 times the odd sub-blocks' part
    for (int r = 0; r < R; ++r) sums[r] = odd_sums[r] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) ChunkQ4K<R>(p, qs, row, c, sums, odd_sums);
    const __m512i pairs0 = Load512(p + kPairsAt), pairs1 = Load512(p + kPairsAt + 64);
    const __m512 dy = _mm512_loadu_ps(p + kScalesAt);
    for (int r = 0; r < R; ++r) {
      sums[r] = _mm512_add_epi32(sums[r], _mm512_srai_epi32(odd_sums[r], 4));
      const __m512i mins = _mm512_dpwssd_epi32(_mm512_madd_epi16(pairs0, BroadcastQ(reinterpret_cast<const uint8_t*>(row[r].mins))),
                                               pairs1, BroadcastQ(reinterpret_cast<const uint8_t*>(row[r].mins + 4)));
      // d and dmin as floats in lanes 0 and 1, converted in a register (a float store would cost
      // the VNNI pipes like any vector store).
      uint32_t d_dmin;
      std::memcpy(&d_dmin, block(r, i), 4);
      const __m512 scale = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin))));
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(sums[r]), _mm512_permutexvar_ps(_mm512_setzero_si512(), scale));
      f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins), _mm512_permutexvar_ps(_mm512_set1_epi32(1), scale), f);
      acc[r] = _mm512_fmadd_ps(f, dy, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) StoreTokens(acc[r], n_act, out + r, out_stride);
}

// ---- Q6_K ----

struct alignas(64) RowQ6Panel {
  uint8_t w[256];      // values 0..63 (the stored q; the bias 32 is taken off through `bias`)
  int32_t scales[16];  // sub-block scales
  int16_t bias[32];    // 16 bytes per pair register k: -32 · (s_{2pi}, s_{2pi+1}) with pi = 2k + half
                       // at dword 2t + half (the same for every t: one 16-byte pattern per k)
  float d;
};

struct Q6PanelIndex {
  alignas(64) int16_t bias[32];
  constexpr Q6PanelIndex() : bias{} {
    for (int p = 0; p < 32; ++p) bias[p] = static_cast<int16_t>(2 * (2 * (p / 8) + (p % 8) / 2 % 2) + p % 2);
  }
};
constexpr Q6PanelIndex kQ6PanelIndex;

inline void UnpackRowQ6Panel(const BlockQ6_K* x, RowQ6Panel* row) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  for (int c = 0; c < 2; ++c) {
    // As UnpackRowQ6 (vec_dot_avx512_kquant.cc): elements 128c .. 128c + 63, then + 64 .. + 127.
    const __m512i ql = Load512(x->ql + 64 * c);
    const __m256i qh = Load256(x->qh + 32 * c);
    const __m512i hh = _mm512_inserti64x4(Zext(qh), _mm256_srli_epi16(qh, 2), 1);
    _mm512_store_si512(row->w + 128 * c, _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(hh, 4), m30)));
    _mm512_store_si512(row->w + 128 * c + 64,
                       _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(hh, m30)));
  }
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x->scales));
  _mm512_store_si512(row->scales, _mm512_cvtepi8_epi32(sc8));
  const __m256i neg32 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(sc8), 5));
  _mm512_store_si512(row->bias, _mm512_permutexvar_epi16(_mm512_load_si512(kQ6PanelIndex.bias), _mm512_castsi256_si512(neg32)));
  row->d = H(x->d);
}

template <int R>
void PanelQ6_K(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* panel, int n_act, float* out,
               size_t out_stride) {
  constexpr size_t kPairsAt = kPanelQuantBytes, kScalesAt = kPanelQuantBytes + 4 * 64;
  constexpr size_t kSuperBlockBytes = kScalesAt + kPanelScaleBytes;
  __m512 acc[R];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  RowQ6Panel rows[2][R];  // super-blocks i (even i in rows[0]) and i + 1
  for (int r = 0; r < R; ++r) UnpackRowQ6Panel(reinterpret_cast<const BlockQ6_K*>(w + r * w_stride), &rows[0][r]);
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const uint8_t* p = panel + i * kSuperBlockBytes;
    // Unpack the next super-block now: its stores reach the cache while this one computes.
    if (i + 1 < n / kSuperBlockSize) {
      for (int r = 0; r < R; ++r) UnpackRowQ6Panel(reinterpret_cast<const BlockQ6_K*>(w + r * w_stride) + i + 1, &rows[(i + 1) & 1][r]);
    }
    const RowQ6Panel* row = rows[i & 1];
    __m512i sums[R];
    for (__m512i& s : sums) s = _mm512_setzero_si512();
    for (int j = 0; j < 16; ++j) {  // sub-block j: group pairs 2j, 2j + 1
      const __m512i y0 = Load512(p + 64 * (2 * j)), y1 = Load512(p + 64 * (2 * j + 1));
      for (int r = 0; r < R; ++r) {
        const __m512i c = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), BroadcastQ(row[r].w + 16 * j), y0),
                                              BroadcastQ(row[r].w + 16 * j + 8), y1);
        sums[r] = _mm512_add_epi32(sums[r], _mm512_mullo_epi32(c, _mm512_set1_epi32(row[r].scales[j])));
      }
    }
    for (int k = 0; k < 4; ++k) {
      const __m512i pairs = Load512(p + kPairsAt + 64 * k);
      for (int r = 0; r < R; ++r) sums[r] = _mm512_dpwssd_epi32(sums[r], pairs, Broadcast128(row[r].bias + 8 * k));
    }
    const __m512 dy = _mm512_loadu_ps(p + kScalesAt);
    for (int r = 0; r < R; ++r) {
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[r]), _mm512_mul_ps(_mm512_set1_ps(row[r].d), dy), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) StoreTokens(acc[r], n_act, out + r, out_stride);
}

// ---- Dispatch: rows in groups of kPanelRows, then the remainder. ----

constexpr int kPanelRows = 4;

template <void (*K1)(int64_t, const uint8_t*, size_t, const uint8_t*, int, float*, size_t),
          void (*K2)(int64_t, const uint8_t*, size_t, const uint8_t*, int, float*, size_t),
          void (*K3)(int64_t, const uint8_t*, size_t, const uint8_t*, int, float*, size_t),
          void (*K4)(int64_t, const uint8_t*, size_t, const uint8_t*, int, float*, size_t)>
void PanelRows(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, const uint8_t* panel, int n_act, float* out,
               size_t out_stride) {
  static_assert(kPanelRows == 4);
  int r = 0;
  for (; r + kPanelRows <= n_rows; r += kPanelRows) {
    // The next call's rows, into L2: the kernel reads its R rows interleaved, block by block, and
    // on short rows (1536 elements: 6 blocks) the hardware prefetchers do not pick these streams
    // up (one group ahead, all at once: a slice per super-block came too late).
    const size_t next_rows = static_cast<size_t>(std::clamp(n_rows - r - kPanelRows, 0, kPanelRows));
    const char* next = reinterpret_cast<const char*>(w + (r + kPanelRows) * w_stride);
    for (size_t off = 0; off < next_rows * w_stride; off += 64) _mm_prefetch(next + off, _MM_HINT_T1);
    K4(n, w + r * w_stride, w_stride, panel, n_act, out + r, out_stride);
  }
  const uint8_t* wr = w + r * w_stride;
  switch (n_rows - r) {
    case 3: return K3(n, wr, w_stride, panel, n_act, out + r, out_stride);
    case 2: return K2(n, wr, w_stride, panel, n_act, out + r, out_stride);
    case 1: return K1(n, wr, w_stride, panel, n_act, out + r, out_stride);
    default: return;
  }
}

}  // namespace

DotPanelFn Avx512PanelDot(TensorType weight) {
  switch (weight) {
    case TensorType::kQ4_K: return &PanelRows<PanelQ4_K<1>, PanelQ4_K<2>, PanelQ4_K<3>, PanelQ4_K<4>>;
    case TensorType::kQ6_K: return &PanelRows<PanelQ6_K<1>, PanelQ6_K<2>, PanelQ6_K<3>, PanelQ6_K<4>>;
    default: return nullptr;
  }
}

}  // namespace dv::cpu::internal
