#include "engine/cpu/matmul.h"

#include "engine/cpu/activation_panel.h"

#include <algorithm>
#include <atomic>

namespace dv::cpu {
namespace {

constexpr int64_t kTokenTile = 64;             // tokens per pass over a row chunk (activations stay in L2)
static_assert(kTokenTile % kPanelTokens == 0);
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

bool UsesPanel(const DotKernel& k, int64_t n_tokens) { return k.panel != nullptr && n_tokens >= kPanelMinTokens; }

// How a product takes its activations: rows of `format` in `layout`, or panels of `panel`.
struct ActivationForm {
  TensorType format = TensorType::kF32;
  ActivationLayout layout = ActivationLayout::kStandard;
  PanelLayout panel = PanelLayout::kNone;
  bool operator==(const ActivationForm&) const = default;

  static ActivationForm Of(const DotKernel& k, TensorType weight, int64_t n_tokens) {
    const TensorType format = ActivationType(weight);
    if (UsesPanel(k, n_tokens)) return {format, ActivationLayout::kStandard, k.panel_layout};
    return {format, k.act_layout, PanelLayout::kNone};
  }
  // Bytes for n_tokens tokens of cols elements (0: the float input is used as it is).
  size_t Bytes(int64_t cols, int64_t n_tokens) const {
    if (format == TensorType::kF32) return 0;
    if (panel != PanelLayout::kNone) return PanelBytes(panel, cols) * static_cast<size_t>(PanelCount(n_tokens));
    return ActivationRowBytes(format, cols) * static_cast<size_t>(n_tokens);
  }
  static int64_t PanelCount(int64_t n_tokens) { return (n_tokens + kPanelTokens - 1) / kPanelTokens; }
};

// Converts x into each distinct activation form of the targets (threaded over tokens or panels for
// prefill); act[i] points at target i's activations.
void PrepareActivations(std::span<const MatMulTarget> targets, const float* x, int64_t n_tokens, bool parallel,
                        WorkerPool& pool, std::vector<uint8_t>& scratch, const uint8_t** act) {
  const int64_t cols = targets[0].w->cols;
  ActivationForm forms[kMaxTargets];
  size_t offsets[kMaxTargets];
  int n_forms = 0;
  size_t total = 0;
  int form_of[kMaxTargets];
  for (size_t i = 0; i < targets.size(); ++i) {
    const ActivationForm f = ActivationForm::Of(targets[i].w->kernel, targets[i].w->type, n_tokens);
    int k = 0;
    while (k < n_forms && !(forms[k] == f)) ++k;
    if (k == n_forms) {
      forms[n_forms] = f;
      offsets[n_forms++] = total;
      total += (f.Bytes(cols, n_tokens) + 63) / 64 * 64;  // panels are read in aligned 64-byte loads
    }
    form_of[i] = k;
  }
  scratch.resize(total + 64);
  uint8_t* const base = scratch.data() + (-reinterpret_cast<uintptr_t>(scratch.data()) & 63);
  auto convert = [&](int thread, int n_threads) {
    for (int k = 0; k < n_forms; ++k) {
      const ActivationForm& f = forms[k];
      if (f.format == TensorType::kF32) continue;
      const size_t row = ActivationRowBytes(f.format, cols);
      int64_t b0, b1;
      if (f.panel == PanelLayout::kNone) {
        WorkerPool::Split(n_tokens, thread, n_threads, 1, &b0, &b1);
        for (int64_t t = b0; t < b1; ++t) {
          uint8_t* out = base + offsets[k] + t * row;
          ConvertActivations(f.format, x + t * cols, cols, out);
          ApplyActivationLayout(f.layout, cols, out);
        }
        continue;
      }
      // Panels: quantize each group of kPanelTokens tokens to standard rows, then interleave.
      thread_local std::vector<uint8_t> rows;
      rows.resize(row * kPanelTokens);
      const size_t panel_bytes = PanelBytes(f.panel, cols);
      WorkerPool::Split(ActivationForm::PanelCount(n_tokens), thread, n_threads, 1, &b0, &b1);
      for (int64_t p = b0; p < b1; ++p) {
        const int n_act = static_cast<int>(std::min<int64_t>(kPanelTokens, n_tokens - p * kPanelTokens));
        for (int t = 0; t < n_act; ++t) ConvertActivations(f.format, x + (p * kPanelTokens + t) * cols, cols, rows.data() + t * row);
        BuildActivationPanel(f.panel, cols, rows.data(), row, n_act, base + offsets[k] + p * panel_bytes);
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
    const int k = form_of[i];
    act[i] = forms[k].format == TensorType::kF32 ? reinterpret_cast<const uint8_t*>(x) : base + offsets[k];
  }
}

// y[t, r0..r1) of one product for tokens [t0, t1) of n_tokens; t0 a multiple of kPanelTokens.
void ProductRows(const WeightMatrix& w, const uint8_t* a, float* y, int64_t r0, int64_t r1, int64_t t0, int64_t t1,
                 int64_t n_tokens) {
  const DotKernel& k = w.kernel;
  const size_t out_stride = static_cast<size_t>(w.rows);
  if (UsesPanel(k, n_tokens)) {
    const size_t panel_bytes = PanelBytes(k.panel_layout, w.cols);
    for (int64_t t = t0; t < t1; t += kPanelTokens) {
      const int n_act = static_cast<int>(std::min<int64_t>(kPanelTokens, t1 - t));
      k.panel(w.cols, w.data + static_cast<size_t>(r0) * w.row_bytes, w.row_bytes, static_cast<int>(r1 - r0),
              a + static_cast<size_t>(t / kPanelTokens) * panel_bytes, n_act, y + t * out_stride + r0, out_stride);
    }
    return;
  }
  const size_t act_row = ActivationRowBytes(ActivationType(w.type), w.cols);
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
        ProductRows(*target.w, act[chunk.target], target.y, chunk.r0, chunk.r1, t0, std::min(n_tokens, t0 + kTokenTile),
                    n_tokens);
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
