#include "engine/cpu/matmul.h"

#include <algorithm>
#include <atomic>

namespace dv::cpu {
namespace {
constexpr int64_t kRowTile = 16;   // weight rows per work item
constexpr int64_t kTokenTile = 64; // tokens per pass over a row tile (keeps activations in L2)
constexpr int64_t kMinParallelWork = 1 << 17;  // multiply-adds below which one thread does it all
}  // namespace

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, WorkerPool& pool,
            std::vector<uint8_t>& scratch) {
  const TensorType act = ActivationType(w.type);
  const size_t act_row = ActivationRowBytes(act, w.cols);
  const uint8_t* a;
  if (act == TensorType::kF32) {
    a = reinterpret_cast<const uint8_t*>(x);
  } else {
    scratch.resize(act_row * static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) ConvertActivations(act, x + t * w.cols, w.cols, scratch.data() + t * act_row);
    a = scratch.data();
  }
  const int64_t n_tiles = (w.rows + kRowTile - 1) / kRowTile;
  std::atomic<int64_t> next{0};
  const DotFn dot = w.kernel.fn;
  const DotMultiFn multi = w.kernel.multi;
  auto work = [&](int, int) {
    for (int64_t tile; (tile = next.fetch_add(1, std::memory_order_relaxed)) < n_tiles;) {
      const int64_t r0 = tile * kRowTile, r1 = std::min(w.rows, r0 + kRowTile);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
        const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
        for (int64_t r = r0; r < r1; ++r) {
          const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
          if (multi != nullptr && t1 - t0 > 1) {
            float out[kMaxMultiDot];
            for (int64_t t = t0; t < t1; t += kMaxMultiDot) {
              const int count = static_cast<int>(std::min<int64_t>(kMaxMultiDot, t1 - t));
              multi(w.cols, wr, a + static_cast<size_t>(t) * act_row, act_row, count, out);
              for (int j = 0; j < count; ++j) y[(t + j) * w.rows + r] = out[j];
            }
          } else {
            for (int64_t t = t0; t < t1; ++t) y[t * w.rows + r] = dot(w.cols, wr, a + static_cast<size_t>(t) * act_row);
          }
        }
      }
    }
  };
  // Waking workers costs more than a small product (tiny models, short rows).
  if (w.rows * w.cols * n_tokens < kMinParallelWork) {
    work(0, 1);
  } else {
    pool.Run(work);
  }
}

}  // namespace dv::cpu
