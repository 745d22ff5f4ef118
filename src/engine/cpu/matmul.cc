#include "engine/cpu/matmul.h"

#include <algorithm>
#include <atomic>

namespace dv::cpu {
namespace {

constexpr int64_t kTokenTile = 64;             // tokens per pass over a row chunk (activations stay in L2)
constexpr int64_t kMinParallelWork = 1 << 17;  // multiply-adds below which one thread does it all
constexpr int64_t kChunksPerThread = 8;        // work items per thread: balance vs. atomics and prefetch
// Weight rows per tile call for one token (decode). One row streams fastest: on the Zen 4 development machine a
// 1536 x 8960 Q4_K product ran at 17-20 GB/s per core with 1-row tiles and 5-9 GB/s with 4-row
// tiles (bench_engine_kernels), which read four rows' super-blocks in lockstep.
constexpr int64_t kDecodeTileRows = 1;

// Weight rows per work item: a multiple of kMaxTileRows, about kChunksPerThread items per thread
// (long contiguous runs keep the hardware prefetcher streaming), at least 16 rows.
int64_t ChunkRows(int64_t rows, int n_threads) {
  const int64_t target = rows / (static_cast<int64_t>(n_threads) * kChunksPerThread);
  const int64_t chunk = std::max<int64_t>(16, target);
  return (chunk + kMaxTileRows - 1) / kMaxTileRows * kMaxTileRows;
}

// Converts x into activation format `act` (threaded over tokens for prefill).
const uint8_t* PrepareActivations(TensorType act, const float* x, int64_t n_tokens, int64_t cols, bool parallel,
                                  WorkerPool& pool, std::vector<uint8_t>& scratch) {
  if (act == TensorType::kF32) return reinterpret_cast<const uint8_t*>(x);
  const size_t act_row = ActivationRowBytes(act, cols);
  scratch.resize(act_row * static_cast<size_t>(n_tokens));
  uint8_t* out = scratch.data();
  auto convert = [&](int thread, int n_threads) {
    int64_t t0, t1;
    WorkerPool::Split(n_tokens, thread, n_threads, 1, &t0, &t1);
    for (int64_t t = t0; t < t1; ++t) ConvertActivations(act, x + t * cols, cols, out + t * act_row);
  };
  if (parallel && n_tokens > 1) {
    pool.Run(convert);
  } else {
    convert(0, 1);
  }
  return out;
}

}  // namespace

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, WorkerPool& pool,
            std::vector<uint8_t>& scratch) {
  // Waking workers costs more than a small product (tiny models, short rows).
  const bool parallel = w.rows * w.cols * n_tokens >= kMinParallelWork && pool.size() > 1;
  const TensorType act = ActivationType(w.type);
  const size_t act_row = ActivationRowBytes(act, w.cols);
  const uint8_t* a = PrepareActivations(act, x, n_tokens, w.cols, parallel, pool, scratch);

  const int n_threads = parallel ? pool.size() : 1;
  const int64_t chunk_rows = ChunkRows(w.rows, n_threads);
  const int64_t n_chunks = (w.rows + chunk_rows - 1) / chunk_rows;
  std::atomic<int64_t> next{0};
  const DotKernel& k = w.kernel;
  const size_t out_stride = static_cast<size_t>(w.rows);

  // y[t, r0..r1) for tokens [t0, t1), one weight row at a time (kernels without tiles).
  auto rows_by_dot = [&](int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
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
  };
  // Same with tiles of up to kMaxTileRows rows × kMaxTileActs tokens.
  auto rows_by_tile = [&](int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    const int64_t tile_rows = t1 - t0 > 1 ? kMaxTileRows : kDecodeTileRows;
    for (int64_t r = r0; r < r1; r += tile_rows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(tile_rows, r1 - r));
      for (int64_t t = t0; t < t1; t += kMaxTileActs) {
        const int n_act = static_cast<int>(std::min<int64_t>(kMaxTileActs, t1 - t));
        k.tile(w.cols, w.data + static_cast<size_t>(r) * w.row_bytes, w.row_bytes, n_rows,
               a + static_cast<size_t>(t) * act_row, act_row, n_act, y + t * out_stride + r, out_stride);
      }
    }
  };
  auto work = [&](int, int) {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < n_chunks;) {
      const int64_t r0 = c * chunk_rows, r1 = std::min(w.rows, r0 + chunk_rows);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
        const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
        if (k.tile != nullptr) {
          rows_by_tile(r0, r1, t0, t1);
        } else {
          rows_by_dot(r0, r1, t0, t1);
        }
      }
    }
  };
  if (parallel) {
    pool.Run(work);
  } else {
    work(0, 1);
  }
}

}  // namespace dv::cpu
