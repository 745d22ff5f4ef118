// The grouped, blocked F16-cache attention kernel, generic over a SIMD traits type S. Included
// only by attention_avx2.cc and attention_avx512.cc, each compiled for its ISA (hence the
// anonymous namespace: every includer gets its own copy).
//
// Computes exactly llama.cpp's per-position sequence for each query row (kv_attention.h):
//   s = scale·(q16·k_p); if s > M: ms = e^(M−s), M = s, acc = r16(acc·ms), vs = 1 else vs = e^(s−M)
//   acc = r16(fma(v_p, vs, acc)); S = S·ms + vs;   out = acc / S        (r16: round to fp16)
// but in three passes over a block of kPosBlock positions, for up to kMaxRows query rows that
// share the keys and values (the query heads of one KV head, for one or more tokens):
//   1. scores of the block: each key row is converted from fp16 once per S::kScoreRows query
//      rows, whose dot products run side by side;
//   2. per row, the running max in order, then one vectorised exponential per position:
//      e_p = e^(min(M,s) − max(M,s)), which is ms when s is a new max (vs = 1) and vs otherwise
//      (ms = 1: acc·1 is acc, so the multiply is skipped as llama.cpp's branch does); S updated;
//      pass 3 gets vs, or −ms for a new max (the sign bit marks it);
//   3. the fp16 accumulation in position order, S::kChunk vectors of up to S::kRowTile rows held
//      in registers across the whole block, each value row converted from fp16 once per tile;
//      positions where no row of the tile has a new max (nearly all) take a branch-free path.
// The q·k sums run in the order of llama.cpp's AVX-512 build and S·ms + vs is one fma, as there;
// only these and the exponential (correctly rounded but for 1e-15-close ties, ExpAvx2/ExpAvx512)
// differ from the plain path in kv_attention.cc.
//
// S provides: using V; kLanes (floats per V); kRowTile; kChunk; kScoreRows; V Zero(); V Set1(float);
// V Load(const float*); void Store(float*, V); V LoadF16(const uint16_t*) (kLanes fp16 values);
// V Round16(V); V Fma(V a, V b, V c) (a·b + c, one rounding); V Mul(V, V); V Exp(V);
// void Dots(const float* const* q, const uint16_t* k, int n, float* out): out[j] = q[j]·k over
// n values (n % 64 == 0), j < kScoreRows, summed as llama.cpp's AVX-512 build sums
// ggml_vec_dot_f16: four 16-lane fma accumulators a0..a3 over steps of 64 values, folded as
// (a0 + a2) + (a1 + a3), then halves: lanes l + (l + 8), l < 8; l + (l + 4), l < 4; then
// (l0 + l2) + (l1 + l3).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/cpu/kv_attention.h"
#include "engine/quant/fp16.h"

namespace dv::cpu {
namespace {

constexpr int kPosBlock = 64;  // positions scored before they are accumulated (multiple of 16)
constexpr int kMaxRows = 64;   // query rows attended together (scratch: 2·64·hd + 64·66 floats)

// Per-chunk state: pointers into the caller's scratch, [row][...] with the row's own stride.
struct F16Chunk {
  int hd = 0, n = 0;          // head_dim, rows
  float* qh = nullptr;        // [n][hd] q rounded to fp16
  float* acc = nullptr;       // [n][hd] fp16-valued accumulators
  float* e = nullptr;         // [n][kPosBlock] scores, then weights (ExpBlock)
  float* max = nullptr;       // [n]
  float* sum = nullptr;       // [n]
  const float* q[kMaxRows];   // row queries (original floats)
  float* out[kMaxRows];
  int n_pos[kMaxRows];
};

// Pass 1: e[i][p − b0] = scale · (qh_i · k_p) for the active rows i, b0 <= p < min(b1, n_pos_i).
// The dot product sums as llama.cpp's AVX-512 ggml_vec_dot_f16 does (S::Dots: the first
// hd − hd % 64 elements), the remaining elements added one by one in double, as ggml does with its
// leftovers (for head_dim 32 or 48: all of them, exactly).
template <class S>
void ScoreBlock(const F16Chunk& c, const int* active, int n_active, const uint8_t* k, size_t stride, int b0, int b1,
                float scale) {
  constexpr int kRows = S::kScoreRows;
  const int n64 = c.hd - c.hd % 64;
  for (int a = 0; a < n_active; a += kRows) {
    const float* q[kRows];
    float* dst[kRows];
    int end = b0;
    for (int j = 0; j < kRows; ++j) {
      const int i = active[std::min(a + j, n_active - 1)];  // a short tile repeats its last row
      q[j] = c.qh + static_cast<size_t>(i) * c.hd;
      dst[j] = c.e + static_cast<size_t>(i) * kPosBlock - b0;
      end = std::max(end, std::min(b1, c.n_pos[i]));
    }
    for (int p = b0; p < end; ++p) {
      const auto* kp = reinterpret_cast<const uint16_t*>(k + p * stride);
      float s[kRows];
      S::Dots(q, kp, n64, s);
      if (n64 < c.hd) {
        for (int j = 0; j < kRows; ++j) {
          double sum = s[j];
          for (int x = n64; x < c.hd; ++x) sum += q[j][x] * quant::Fp16ToFloat(kp[x]);
          s[j] = static_cast<float>(sum);
        }
      }
      for (int j = 0; j < kRows; ++j) dst[j][p] = s[j] * scale;
    }
  }
}

// Pass 2 for row i over positions b0..b0+n-1: running max, exponentials, S. Leaves in e the
// position's weight: vs when the max held (in [0, 1]), and −ms when the position raised the max
// (its vs is 1; the sign bit marks it, −0 included).
template <class S>
void ExpBlock(F16Chunk& c, int i, int n) {
  float* e = c.e + static_cast<size_t>(i) * kPosBlock;
  bool new_max[kPosBlock];
  float m = c.max[i];
  for (int p = 0; p < n; ++p) {
    const float s = e[p];
    new_max[p] = s > m;
    if (new_max[p]) {
      e[p] = m - s;
      m = s;
    } else {
      e[p] = s - m;
    }
  }
  c.max[i] = m;
  for (int p = 0; p < n; p += S::kLanes) S::Store(e + p, S::Exp(S::Load(e + p)));  // kPosBlock % kLanes == 0
  float sum = c.sum[i];
  for (int p = 0; p < n; ++p) {
    if (new_max[p]) {
      sum = std::fma(sum, e[p], 1.f);  // llama.cpp's S = S·ms + vs, contracted by the compiler
      e[p] = -e[p];
    } else {
      sum = sum + e[p];
    }
  }
  c.sum[i] = sum;
}

inline bool RaisesMax(float weight) { return std::signbit(weight); }

// One position p (values at vp) for the rows of a tile, each checked: p < end[j], and whether p raised the max.
template <class S, int kRows, int kChunk>
[[gnu::noinline]] void AccumulateChecked(typename S::V (&r)[kRows][kChunk], const uint16_t* vp,
                                         const float* const (&e)[kRows], const int (&end)[kRows], int p) {
  typename S::V val[kChunk];
  for (int x = 0; x < kChunk; ++x) val[x] = S::LoadF16(vp + x * S::kLanes);
  for (int j = 0; j < kRows; ++j) {
    if (p >= end[j]) continue;
    typename S::V w = S::Set1(e[j][p]);
    if (RaisesMax(e[j][p])) {
      const typename S::V ms = S::Set1(-e[j][p]);
      for (int x = 0; x < kChunk; ++x) r[j][x] = S::Round16(S::Mul(r[j][x], ms));
      w = S::Set1(1.f);
    }
    for (int x = 0; x < kChunk; ++x) r[j][x] = S::Round16(S::Fma(val[x], w, r[j][x]));
  }
}

// Pass 3 for one tile of kRows rows: the fp16 accumulation of positions b0 <= p < end_j, head_dim
// in chunks of kChunk vectors kept in registers. Positions where every row is active and none
// raised its max (nearly all) take the branch-free path. REQUIRES hd % (kChunk·kLanes) == 0.
template <class S, int kRows, int kChunk>
void AccumulateTile(const F16Chunk& c, const int* rows, const uint8_t* v, size_t stride, int b0, int b1) {
  using V = typename S::V;
  float* acc[kRows];
  const float* e[kRows];
  int end[kRows];
  int all_end = b1, any_end = b0;  // all rows active before all_end, some before any_end
  for (int j = 0; j < kRows; ++j) {
    acc[j] = c.acc + static_cast<size_t>(rows[j]) * c.hd;
    e[j] = c.e + static_cast<size_t>(rows[j]) * kPosBlock - b0;
    end[j] = std::min(b1, c.n_pos[rows[j]]);
    all_end = std::min(all_end, end[j]);
    any_end = std::max(any_end, end[j]);
  }
  for (int x0 = 0; x0 < c.hd; x0 += kChunk * S::kLanes) {
    V r[kRows][kChunk];
#pragma GCC unroll 16
    for (int j = 0; j < kRows; ++j) {
#pragma GCC unroll 16
      for (int x = 0; x < kChunk; ++x) r[j][x] = S::Load(acc[j] + x0 + x * S::kLanes);
    }
    for (int p = b0; p < any_end; ++p) {
      const auto* vp = reinterpret_cast<const uint16_t*>(v + p * stride) + x0;
      V val[kChunk];
#pragma GCC unroll 16
      for (int x = 0; x < kChunk; ++x) val[x] = S::LoadF16(vp + x * S::kLanes);
      bool common = p < all_end;
#pragma GCC unroll 16
      for (int j = 0; j < kRows; ++j) common &= !RaisesMax(e[j][p]);
      if (common) {
#pragma GCC unroll 16
        for (int j = 0; j < kRows; ++j) {
          const V w = S::Set1(e[j][p]);
#pragma GCC unroll 16
          for (int x = 0; x < kChunk; ++x) r[j][x] = S::Round16(S::Fma(val[x], w, r[j][x]));
        }
      } else {
        // Rare: out of line on a copy, so that r itself stays in registers.
        V copy[kRows][kChunk];
#pragma GCC unroll 16
        for (int j = 0; j < kRows; ++j) {
#pragma GCC unroll 16
          for (int x = 0; x < kChunk; ++x) copy[j][x] = r[j][x];
        }
        AccumulateChecked<S, kRows, kChunk>(copy, vp, e, end, p);
#pragma GCC unroll 16
        for (int j = 0; j < kRows; ++j) {
#pragma GCC unroll 16
          for (int x = 0; x < kChunk; ++x) r[j][x] = copy[j][x];
        }
      }
    }
#pragma GCC unroll 16
    for (int j = 0; j < kRows; ++j) {
#pragma GCC unroll 16
      for (int x = 0; x < kChunk; ++x) S::Store(acc[j] + x0 + x * S::kLanes, r[j][x]);
    }
  }
}

// Pass 3 for all active rows, in tiles of S::kRowTile rows (the last tile: the rows left).
template <class S, int kChunk>
void AccumulateBlock(const F16Chunk& c, const int* active, int n_active, const uint8_t* v, size_t stride, int b0,
                     int b1) {
  static_assert(S::kRowTile == 2 || S::kRowTile == 4);
  int a = 0;
  for (; a + S::kRowTile <= n_active; a += S::kRowTile) {
    AccumulateTile<S, S::kRowTile, kChunk>(c, active + a, v, stride, b0, b1);
  }
  switch (n_active - a) {
    case 3: return AccumulateTile<S, 3, kChunk>(c, active + a, v, stride, b0, b1);
    case 2: return AccumulateTile<S, 2, kChunk>(c, active + a, v, stride, b0, b1);
    case 1: return AccumulateTile<S, 1, kChunk>(c, active + a, v, stride, b0, b1);
    default: return;
  }
}

// Rows first..first+n-1 of `rows` (n <= kMaxRows).
template <class S>
void AttendF16Chunk(int hd, const AttentionRows& rows, int first, int n, const uint8_t* k, const uint8_t* v,
                    size_t stride, float scale, std::vector<float>& scratch) {
  using V = typename S::V;
  const size_t row_floats = static_cast<size_t>(hd);
  scratch.resize(2 * n * row_floats + static_cast<size_t>(n) * kPosBlock + 2 * n);
  F16Chunk c;
  c.hd = hd;
  c.n = n;
  c.qh = scratch.data();
  c.acc = c.qh + n * row_floats;
  c.e = c.acc + n * row_floats;
  c.max = c.e + static_cast<size_t>(n) * kPosBlock;
  c.sum = c.max + n;
  int max_pos = 0;
  for (int i = 0; i < n; ++i) {
    const int t = (first + i) / rows.n_heads, h = (first + i) % rows.n_heads;
    c.q[i] = rows.q + t * rows.q_stride + static_cast<size_t>(h) * hd;
    c.out[i] = rows.out + t * rows.out_stride + static_cast<size_t>(h) * hd;
    c.n_pos[i] = rows.n_pos[t];
    max_pos = std::max(max_pos, c.n_pos[i]);
    float* qh = c.qh + i * row_floats;
    float* acc = c.acc + i * row_floats;
    for (int x = 0; x < hd; x += S::kLanes) {
      S::Store(qh + x, S::Round16(S::Load(c.q[i] + x)));
      S::Store(acc + x, S::Zero());
    }
    c.max[i] = -INFINITY;
    c.sum[i] = 0;
  }
  const bool chunked = hd % (S::kChunk * S::kLanes) == 0;
  int active[kMaxRows];
  for (int b0 = 0; b0 < max_pos; b0 += kPosBlock) {
    const int b1 = std::min(b0 + kPosBlock, max_pos);
    int n_active = 0;
    for (int i = 0; i < n; ++i) {
      if (c.n_pos[i] > b0) active[n_active++] = i;
    }
    ScoreBlock<S>(c, active, n_active, k, stride, b0, b1, scale);
    for (int a = 0; a < n_active; ++a) ExpBlock<S>(c, active[a], std::min(b1, c.n_pos[active[a]]) - b0);
    if (chunked) {
      AccumulateBlock<S, S::kChunk>(c, active, n_active, v, stride, b0, b1);
    } else {
      AccumulateBlock<S, 1>(c, active, n_active, v, stride, b0, b1);
    }
  }
  for (int i = 0; i < n; ++i) {
    const V inv = S::Set1(c.sum[i] == 0 ? 0.f : 1.f / c.sum[i]);
    const float* acc = c.acc + i * row_floats;
    for (int x = 0; x < hd; x += S::kLanes) S::Store(c.out[i] + x, S::Mul(S::Load(acc + x), inv));
  }
}

template <class S>
void AttendF16Rows(int hd, const AttentionRows& rows, const uint8_t* k, const uint8_t* v, size_t stride, float scale,
                   std::vector<float>& scratch) {
  const int n_rows = rows.n_tokens * rows.n_heads;
  for (int first = 0; first < n_rows; first += kMaxRows) {
    AttendF16Chunk<S>(hd, rows, first, std::min(kMaxRows, n_rows - first), k, v, stride, scale, scratch);
  }
}

template <class S>
void ExpArray(const float* x, float* y, int n) {
  int i = 0;
  for (; i + S::kLanes <= n; i += S::kLanes) S::Store(y + i, S::Exp(S::Load(x + i)));
  if (i < n) {
    float tail[S::kLanes] = {};
    std::copy(x + i, x + n, tail);
    S::Store(tail, S::Exp(S::Load(tail)));
    std::copy(tail, tail + (n - i), y + i);
  }
}

}  // namespace
}  // namespace dv::cpu
