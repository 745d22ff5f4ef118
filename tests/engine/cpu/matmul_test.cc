// MatMul (threaded, tiled) equals row-by-row dot products for decode and prefill shapes: bit for bit
// through tiles, to float rounding through panels (the same for every thread count).
#include <gtest/gtest.h>

#include <cmath>
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
    for (int64_t tokens : {1, 3, 5, 6, 70}) {
      std::vector<float> x(tokens * cols);
      for (auto& v : x) v = dist(rng);
      const bool panels = w.kernel.panel != nullptr && tokens >= kPanelMinTokens;
      std::vector<float> first;  // the one-thread result
      for (int threads : {1, 2, 3}) {
        WorkerPool pool(threads);
        std::vector<uint8_t> scratch;
        std::vector<float> y(tokens * rows, -1.f);
        MatMul(w, x.data(), tokens, y.data(), pool, scratch);
        if (first.empty()) first = y;
        ASSERT_EQ(y, first) << quant::TypeName(type) << " tokens=" << tokens << ": threads=" << threads;
        const TensorType act = ActivationType(type);
        std::vector<uint8_t> a(ActivationRowBytes(act, cols));
        for (int64_t t = 0; t < tokens; ++t) {
          ConvertActivationsFor(w.kernel, type, x.data() + t * cols, cols, a.data());
          for (int64_t r = 0; r < rows; ++r) {
            const float single = w.kernel.fn(cols, wq.data() + r * row_bytes, a.data());
            if (panels) {
              // Outputs are sums of 512 terms of about ±1: float rounding reaches 1e-5 absolute.
              ASSERT_NEAR(y[t * rows + r], single, 1e-4f + 1e-5f * std::fabs(single))
                  << quant::TypeName(type) << " t=" << t << " r=" << r << " threads=" << threads;
            } else {
              ASSERT_EQ(y[t * rows + r], single) << quant::TypeName(type) << " t=" << t << " r=" << r << " threads=" << threads;
            }
          }
        }
      }
    }
  }
}

struct QuantizedMatrix {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

QuantizedMatrix RandomMatrix(TensorType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist;
  std::vector<float> wf(cols);
  QuantizedMatrix m;
  const size_t row_bytes = *quant::RowBytes(type, cols);
  m.bytes.resize(rows * row_bytes);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : wf) v = dist(rng);
    EXPECT_TRUE(quant::QuantizeRow(type, wf, std::span<uint8_t>(m.bytes.data() + r * row_bytes, row_bytes)).ok());
  }
  m.w = WeightMatrix{type, rows, cols, row_bytes, m.bytes.data(), SelectDot(type)};
  return m;
}

TEST(MatMul, SharedInputProductsEqualSeparateProducts) {
  // q/k/v-like products of mixed types (two activation formats, one float) with one input.
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  const int64_t cols = 768;
  std::vector<QuantizedMatrix> mats;
  mats.push_back(RandomMatrix(TensorType::kQ4_K, 96, cols, rng));
  mats.push_back(RandomMatrix(TensorType::kQ6_K, 33, cols, rng));
  mats.push_back(RandomMatrix(TensorType::kQ8_0, 50, cols, rng));
  mats.push_back(RandomMatrix(TensorType::kF16, 17, cols, rng));
  for (int64_t tokens : {1, 2, 9, 70}) {
    std::vector<float> x(tokens * cols);
    for (auto& v : x) v = dist(rng);
    for (int threads : {1, 2, 3}) {
      WorkerPool pool(threads);
      std::vector<uint8_t> scratch;
      std::vector<std::vector<float>> shared(mats.size()), separate(mats.size());
      std::vector<MatMulTarget> targets;
      for (size_t i = 0; i < mats.size(); ++i) {
        shared[i].assign(tokens * mats[i].w.rows, -1.f);
        separate[i].assign(tokens * mats[i].w.rows, -2.f);
        targets.push_back({&mats[i].w, shared[i].data()});
        MatMul(mats[i].w, x.data(), tokens, separate[i].data(), pool, scratch);
      }
      MatMulShared(targets, x.data(), tokens, pool, scratch);
      for (size_t i = 0; i < mats.size(); ++i) {
        EXPECT_EQ(shared[i], separate[i]) << quant::TypeName(mats[i].w.type) << " tokens=" << tokens
                                          << " threads=" << threads;
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
