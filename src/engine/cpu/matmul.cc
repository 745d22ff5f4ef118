#include "engine/cpu/matmul.h"

#include <algorithm>
#include <atomic>

namespace dv::cpu {
namespace {

constexpr int64_t kTokenTile = 64;             // tokens per pass over a row chunk (activations stay in L2)
constexpr int64_t kMinParallelWork = 1 << 17;  // multiply-adds below which one thread does it all
constexpr int64_t kMinChunkRows = 16;          // smallest work item (prefetch streams need a run)

// Work items of one product: consecutive row ranges whose sizes shrink ("guided"): each takes a
// 1/(2 * n_threads) share of the rows still left, so the threads stream long runs first and the
// last items are short — when one thread takes the final item, the other waits at most that
// long (equal chunks left it idle for half a chunk on average: 5-7 % of decode products, 1-3 %
// with these). Sizes are multiples of kMaxTileRows, at least kMinChunkRows and at most max_rows.
struct Chunk {
  int target;
  int64_t r0, r1;
};
void AppendChunks(int target, int64_t rows, int n_threads, int64_t max_rows, std::vector<Chunk>* chunks) {
  for (int64_t r = 0; r < rows;) {
    int64_t size = std::clamp((rows - r) / (2 * static_cast<int64_t>(n_threads)), kMinChunkRows, max_rows);
    size = (size + kMaxTileRows - 1) / kMaxTileRows * kMaxTileRows;
    const int64_t end = std::min(rows, r + size);
    chunks->push_back({target, r, end});
    r = end;
  }
}

constexpr int kMaxTargets = 8;  // products per MatMulShared call

// Converts x into each distinct activation format and layout of the targets (threaded over tokens for
// prefill); act[i] points at target i's activations.
void PrepareActivations(std::span<const MatMulTarget> targets, const float* x, int64_t n_tokens, bool parallel,
                        WorkerPool& pool, std::vector<uint8_t>& scratch, const uint8_t** act) {
  const int64_t cols = targets[0].w->cols;
  TensorType formats[kMaxTargets];
  ActivationLayout layouts[kMaxTargets];
  size_t offsets[kMaxTargets];
  int n_formats = 0;
  size_t total = 0;
  int format_of[kMaxTargets];
  for (size_t i = 0; i < targets.size(); ++i) {
    const TensorType f = ActivationType(targets[i].w->type);
    const ActivationLayout layout = targets[i].w->kernel.act_layout;
    int k = 0;
    while (k < n_formats && (formats[k] != f || layouts[k] != layout)) ++k;
    if (k == n_formats) {
      formats[n_formats] = f;
      layouts[n_formats] = layout;
      offsets[n_formats++] = total;
      if (f != TensorType::kF32) total += ActivationRowBytes(f, cols) * static_cast<size_t>(n_tokens);
    }
    format_of[i] = k;
  }
  scratch.resize(total);
  auto convert = [&](int thread, int n_threads) {
    int64_t t0, t1;
    WorkerPool::Split(n_tokens, thread, n_threads, 1, &t0, &t1);
    for (int k = 0; k < n_formats; ++k) {
      if (formats[k] == TensorType::kF32) continue;
      const size_t row = ActivationRowBytes(formats[k], cols);
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* out = scratch.data() + offsets[k] + t * row;
        ConvertActivations(formats[k], x + t * cols, cols, out);
        ApplyActivationLayout(layouts[k], cols, out);
      }
    }
  };
  if (total > 0) {
    if (parallel && n_tokens > 1) {
      pool.Run(convert);
    } else {
      convert(0, 1);
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    const int k = format_of[i];
    act[i] = formats[k] == TensorType::kF32 ? reinterpret_cast<const uint8_t*>(x) : scratch.data() + offsets[k];
  }
}

// y[t, r0..r1) of one product for tokens [t0, t1).
void ProductRows(const WeightMatrix& w, const uint8_t* a, float* y, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  const DotKernel& k = w.kernel;
  const size_t act_row = ActivationRowBytes(ActivationType(w.type), w.cols);
  const size_t out_stride = static_cast<size_t>(w.rows);
  if (k.tile != nullptr) {
    // Tiles of up to kMaxTileRows rows × kMaxTileActs tokens; for one token (decode) the whole row
    // range in one call, computed row after row (vec_dot.h).
    const int64_t tile_rows = t1 - t0 > 1 ? kMaxTileRows : r1 - r0;
    for (int64_t r = r0; r < r1; r += tile_rows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(tile_rows, r1 - r));
      for (int64_t t = t0; t < t1; t += kMaxTileActs) {
        const int n_act = static_cast<int>(std::min<int64_t>(kMaxTileActs, t1 - t));
        k.tile(w.cols, w.data + static_cast<size_t>(r) * w.row_bytes, w.row_bytes, n_rows,
               a + static_cast<size_t>(t) * act_row, act_row, n_act, y + t * out_stride + r, out_stride);
      }
    }
    return;
  }
  // One weight row at a time (kernels without tiles).
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
    if (k.multi != nullptr && t1 - t0 > 1) {
      float out[kMaxMultiDot];
      for (int64_t t = t0; t < t1; t += kMaxMultiDot) {
        const int count = static_cast<int>(std::min<int64_t>(kMaxMultiDot, t1 - t));
        k.multi(w.cols, wr, a + static_cast<size_t>(t) * act_row, act_row, count, out);
        for (int j = 0; j < count; ++j) y[(t + j) * w.rows + r] = out[j];
      }
    } else {
      for (int64_t t = t0; t < t1; ++t) y[t * w.rows + r] = k.fn(w.cols, wr, a + static_cast<size_t>(t) * act_row);
    }
  }
}

}  // namespace

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, WorkerPool& pool,
            std::vector<uint8_t>& scratch) {
  const MatMulTarget target{&w, y};
  MatMulShared({&target, 1}, x, n_tokens, pool, scratch);
}

void MatMulShared(std::span<const MatMulTarget> targets, const float* x, int64_t n_tokens, WorkerPool& pool,
                  std::vector<uint8_t>& scratch) {
  if (targets.empty()) return;
  if (targets.size() > static_cast<size_t>(kMaxTargets)) {
    for (size_t i = 0; i < targets.size(); i += kMaxTargets) {
      MatMulShared(targets.subspan(i, std::min<size_t>(kMaxTargets, targets.size() - i)), x, n_tokens, pool, scratch);
    }
    return;
  }
  int64_t work = 0;
  for (const MatMulTarget& t : targets) work += t.w->rows * t.w->cols * n_tokens;
  // Waking workers costs more than a small product (tiny models, short rows).
  const bool parallel = work >= kMinParallelWork && pool.size() > 1;
  const uint8_t* act[kMaxTargets];
  PrepareActivations(targets, x, n_tokens, parallel, pool, scratch, act);

  // Work items: row ranges of each product, product by product, taken in order.
  const int n_threads = parallel ? pool.size() : 1;
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < targets.size(); ++i) {
    // More than kTokenTile tokens pass over a chunk several times: keep it within L2 (about 1/16
    // of a product); otherwise each chunk is streamed once, the longer the better.
    const int64_t rows = targets[i].w->rows;
    const int64_t max_rows =
        n_tokens > kTokenTile ? std::max(kMinChunkRows, rows / (8 * static_cast<int64_t>(n_threads))) : rows;
    AppendChunks(static_cast<int>(i), rows, n_threads, max_rows, &chunks);
  }
  const int64_t n_chunks = static_cast<int64_t>(chunks.size());
  std::atomic<int64_t> next{0};
  auto run = [&](int, int) {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < n_chunks;) {
      const Chunk& chunk = chunks[static_cast<size_t>(c)];
      const MatMulTarget& target = targets[static_cast<size_t>(chunk.target)];
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
        ProductRows(*target.w, act[chunk.target], target.y, chunk.r0, chunk.r1, t0, std::min(n_tokens, t0 + kTokenTile));
      }
    }
  };
  if (parallel) {
    pool.Run(run);
  } else {
    run(0, 1);
  }
}

}  // namespace dv::cpu
