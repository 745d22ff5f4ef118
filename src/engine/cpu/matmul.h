// y = x · Wᵀ for a weight matrix in its stored format, threaded across weight rows.
//
// Shapes: W is [rows, cols] (rows = output features, each row `row_bytes` bytes of `type`),
// x is [n_tokens, cols] floats, y is [n_tokens, rows] floats (row-major).
// One token is a matrix × vector product (decode); many tokens are processed in tiles of weight
// rows so that each tile is read from memory once for all tokens (prefill, batched decode), or in
// 8-token panels where the kernel has them (Q4_K, Q6_K with AVX-512 VNNI).
//
// Thread safety: MatMul uses `pool` (not re-entrant) and `scratch`; one call at a time per pair.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/cpu/vec_dot.h"
#include "engine/cpu/worker_pool.h"

namespace dv::cpu {

struct WeightMatrix {
  TensorType type = TensorType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;
  const uint8_t* data = nullptr;  // rows * row_bytes bytes, not owned
  DotKernel kernel;               // SelectDot(type), chosen when the model is loaded

  // Bytes read by one matrix × vector product.
  size_t bytes() const { return static_cast<size_t>(rows) * row_bytes; }
};

// From this many tokens, a kernel with a panel form (DotKernel::panel) computes the product in
// panels of 8 tokens instead of tiles: its results then agree with w.kernel.fn to float rounding
// rather than bit for bit (vec_dot.h). Below it the tiles are faster (BM_Gemm 8960 × 1536, one
// thread: at 4 and 5 tokens tiles by 10–25 %, at 6 even, at 7 panels by 17 %).
inline constexpr int64_t kPanelMinTokens = 6;

// REQUIRES: w.kernel.fn != nullptr; x has n_tokens*w.cols floats, y room for n_tokens*w.rows.
void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, WorkerPool& pool,
            std::vector<uint8_t>& scratch);

// One product of MatMulShared: y [n_tokens, w->rows] = x · w->ᵀ.
struct MatMulTarget {
  const WeightMatrix* w = nullptr;  // not owned
  float* y = nullptr;
};

// Products of several matrices with the same input x (q/k/v, gate/up): x is converted once per
// activation format, and the rows of all matrices are shared out among the threads in one
// dispatch (one wake-up and one join instead of one per matrix). Results equal separate MatMul
// calls bit for bit.
// REQUIRES: every target's w->cols equal; each as for MatMul.
void MatMulShared(std::span<const MatMulTarget> targets, const float* x, int64_t n_tokens, WorkerPool& pool,
                  std::vector<uint8_t>& scratch);

}  // namespace dv::cpu
