// MatMul (threaded, tiled) equals row-by-row dot products for decode and prefill shapes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/cpu/matmul.h"
#include "engine/quant/quantize.h"

namespace dv::cpu {
namespace {

using quant::TensorType;

TEST(MatMul, ThreadedTilesEqualSingleDots) {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist;
  for (TensorType type : {TensorType::kF32, TensorType::kQ8_0, TensorType::kQ4_K}) {
    const int64_t rows = 37, cols = 512;
    std::vector<float> wf(rows * cols);
    for (auto& v : wf) v = dist(rng);
    const size_t row_bytes = *quant::RowBytes(type, cols);
    std::vector<uint8_t> wq(rows * row_bytes);
    for (int64_t r = 0; r < rows; ++r) {
      ASSERT_TRUE(quant::QuantizeRow(type, std::span<const float>(wf.data() + r * cols, cols),
                                     std::span<uint8_t>(wq.data() + r * row_bytes, row_bytes))
                      .ok());
    }
    WeightMatrix w{type, rows, cols, row_bytes, wq.data(), SelectDot(type)};
    for (int64_t tokens : {1, 3, 70}) {
      std::vector<float> x(tokens * cols);
      for (auto& v : x) v = dist(rng);
      for (int threads : {1, 2, 3}) {
        WorkerPool pool(threads);
        std::vector<uint8_t> scratch;
        std::vector<float> y(tokens * rows, -1.f);
        MatMul(w, x.data(), tokens, y.data(), pool, scratch);
        const TensorType act = ActivationType(type);
        std::vector<uint8_t> a(ActivationRowBytes(act, cols));
        for (int64_t t = 0; t < tokens; ++t) {
          ConvertActivations(act, x.data() + t * cols, cols, a.data());
          for (int64_t r = 0; r < rows; ++r) {
            ASSERT_EQ(y[t * rows + r], w.kernel.fn(cols, wq.data() + r * row_bytes, a.data()))
                << quant::TypeName(type) << " t=" << t << " r=" << r << " threads=" << threads;
          }
        }
      }
    }
  }
}

TEST(WorkerPool, SplitCoversTheRangeOnce) {
  for (int64_t n : {0, 1, 5, 64, 1001}) {
    for (int threads : {1, 2, 3, 7}) {
      int64_t covered = 0, prev_end = 0;
      for (int t = 0; t < threads; ++t) {
        int64_t b, e;
        WorkerPool::Split(n, t, threads, 4, &b, &e);
        EXPECT_EQ(b, prev_end);
        covered += e - b;
        prev_end = e;
      }
      EXPECT_EQ(covered, n);
    }
  }
}

TEST(WorkerPool, RunsEveryThreadManyTimes) {
  WorkerPool pool(3);
  std::vector<int> hits(3, 0);
  for (int i = 0; i < 100; ++i) pool.Run([&](int t, int n) { ASSERT_EQ(n, 3); ++hits[t]; });
  EXPECT_EQ(hits, (std::vector<int>{100, 100, 100}));
}

}  // namespace
}  // namespace dv::cpu
