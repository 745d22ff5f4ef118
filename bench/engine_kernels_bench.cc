// Engine matrix-product kernels on the shapes of DeepSeek-R1-Distill-Qwen-1.5B (hidden 1536,
// FFN 8960): weight bandwidth of a decode matrix × vector product and arithmetic rate of a
// 512-token prefill product, per weight type, on 1 and 2 threads. The ISA is the best available;
// DEEPVAULT_CPU=avx2 (or plain) caps it for comparison.
//
//   ./build/bin/bench_engine_kernels --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Single-thread figures use CPU time (robust on a loaded machine); 2-thread figures use wall time.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <vector>

#include "engine/cpu/kv_attention.h"
#include "engine/cpu/matmul.h"
#include "engine/quant/quantize.h"

namespace {

using dv::cpu::WeightMatrix;
using dv::quant::TensorType;

constexpr int64_t kDistinctRows = 64;  // quantized once, then repeated to fill the matrix

// Weight bytes in 2 MiB transparent huge pages, as the engine holds a model's weights
// (engine::WeightMemory::kHugePages); 4 KiB pages cost decode products 20-30 % in TLB misses.
class HugePageBytes {
 public:
  explicit HugePageBytes(size_t n) : size_((n + kHuge - 1) / kHuge * kHuge) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<uint8_t*>(p);
    ::madvise(data_, size_, MADV_HUGEPAGE);
  }
  ~HugePageBytes() { ::munmap(data_, size_); }
  HugePageBytes(const HugePageBytes&) = delete;
  HugePageBytes& operator=(const HugePageBytes&) = delete;
  uint8_t* data() const { return data_; }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  size_t size_;
  uint8_t* data_;
};

struct Matrix {
  std::unique_ptr<HugePageBytes> bytes;
  WeightMatrix w;
};

Matrix MakeMatrix(TensorType type, int64_t rows, int64_t cols) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.f, 0.02f);
  Matrix m;
  const size_t row_bytes = *dv::quant::RowBytes(type, cols);
  std::vector<uint8_t> distinct(kDistinctRows * row_bytes);
  std::vector<float> x(cols);
  for (int64_t r = 0; r < kDistinctRows; ++r) {
    for (float& v : x) v = normal(rng);
    dv::quant::QuantizeRow(type, x, {distinct.data() + r * row_bytes, row_bytes}).IgnoreError();
  }
  m.bytes = std::make_unique<HugePageBytes>(rows * row_bytes);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(m.bytes->data() + r * row_bytes, distinct.data() + (r % kDistinctRows) * row_bytes, row_bytes);
  }
  m.w = WeightMatrix{type, rows, cols, row_bytes, m.bytes->data(), dv::cpu::SelectDot(type)};
  return m;
}

std::vector<float> Activations(int64_t tokens, int64_t cols) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(tokens * cols);
  for (float& v : x) v = normal(rng);
  return x;
}

// args: rows, cols, threads. bytes/s = weight bytes read.
void BM_Gemv(benchmark::State& state, TensorType type) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const Matrix m = MakeMatrix(type, rows, cols);
  const std::vector<float> x = Activations(1, cols);
  std::vector<float> y(rows);
  dv::cpu::WorkerPool pool(static_cast<int>(state.range(2)));
  std::vector<uint8_t> scratch;
  for (auto _ : state) {
    dv::cpu::MatMul(m.w, x.data(), 1, y.data(), pool, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(m.w.bytes()));
  state.SetLabel(m.w.kernel.isa);
}

// args: rows, cols, tokens, threads. GFLOP/s counts 2 * rows * cols * tokens per product.
void BM_Gemm(benchmark::State& state, TensorType type) {
  const int64_t rows = state.range(0), cols = state.range(1), tokens = state.range(2);
  const Matrix m = MakeMatrix(type, rows, cols);
  const std::vector<float> x = Activations(tokens, cols);
  std::vector<float> y(rows * tokens);
  dv::cpu::WorkerPool pool(static_cast<int>(state.range(3)));
  std::vector<uint8_t> scratch;
  for (auto _ : state) {
    dv::cpu::MatMul(m.w, x.data(), tokens, y.data(), pool, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * rows * cols * tokens * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(m.w.kernel.isa);
}

void GemvArgs(benchmark::internal::Benchmark* b) {
  // FFN up/gate (8960 × 1536) and down (1536 × 8960); the output layer is 151936 × 1536.
  // 256 × 1536 fits in L2: it measures the kernel's arithmetic rather than memory bandwidth.
  b->Args({256, 1536, 1})->Args({8960, 1536, 1})->Args({1536, 8960, 1})->Args({8960, 1536, 2})->Args({1536, 8960, 2});
  // 65536 × 1536 (56-100 MB) does not fit in the 32 MB L3: DRAM bandwidth, like a whole decode step.
  b->Args({65536, 1536, 1})->Args({65536, 1536, 2});
  b->Unit(benchmark::kMicrosecond);
}

void GemmArgs(benchmark::internal::Benchmark* b) {
  b->Args({8960, 1536, 512, 1})->Args({1536, 8960, 512, 1})->Args({8960, 1536, 512, 2});
  // One decode step of 8 concurrent sequences (the server's batch).
  b->Args({8960, 1536, 8, 1})->Args({1536, 8960, 8, 1})->Args({65536, 1536, 8, 2})->Args({1024, 1536, 8, 1})->Args({256, 8960, 8, 1});
  // Fewer sequences: where panels (from kPanelMinTokens) take over from tiles.
  b->Args({8960, 1536, 4, 1})->Args({8960, 1536, 5, 1})->Args({8960, 1536, 6, 1})->Args({8960, 1536, 7, 1});
  b->Unit(benchmark::kMillisecond);
}

// KV-cache attention of one KV head of the 1.5B shape (head_dim 128, 6 query heads per KV head, 2
// KV heads per cache row) on one thread. args: context positions, tokens (1: a decode step; 32:
// a causal prefill block ending at that context). grouped: one AttendHeads call for all rows (as
// the transformer calls it); otherwise AttendHead row by row. pairs/s = (query row, position) pairs.
void BM_Attention(benchmark::State& state, TensorType type, bool grouped) {
  constexpr int kHeadDim = 128, kHeads = 6;
  const int n_ctx = static_cast<int>(state.range(0)), n_tok = static_cast<int>(state.range(1));
  const size_t head_bytes = dv::cpu::KvRowBytes(type, kHeadDim), stride = 2 * head_bytes;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<uint8_t> k(stride * n_ctx), v(stride * n_ctx);
  std::vector<float> row(kHeadDim);
  for (int p = 0; p < n_ctx; ++p) {
    for (float& x : row) x = normal(rng);
    dv::cpu::StoreKvRow(type, row.data(), kHeadDim, &k[p * stride]);
    for (float& x : row) x = normal(rng);
    dv::cpu::StoreKvRow(type, row.data(), kHeadDim, &v[p * stride]);
  }
  std::vector<float> q(static_cast<size_t>(n_tok) * kHeads * kHeadDim), out(q.size()), scratch;
  for (float& x : q) x = normal(rng);
  std::vector<int> n_pos(n_tok);
  int64_t pairs = 0;
  for (int t = 0; t < n_tok; ++t) pairs += kHeads * (n_pos[t] = n_ctx - n_tok + 1 + t);
  const float scale = 1.f / std::sqrt(static_cast<float>(kHeadDim));
  const size_t q_stride = kHeads * kHeadDim;
  for (auto _ : state) {
    if (grouped) {
      const dv::cpu::AttentionRows rows{q.data(), out.data(), q_stride, q_stride, n_tok, kHeads, n_pos.data()};
      dv::cpu::AttendHeads(type, kHeadDim, rows, k.data(), v.data(), stride, scale, scratch);
    } else {
      for (int t = 0; t < n_tok; ++t) {
        for (int h = 0; h < kHeads; ++h) {
          const size_t offset = t * q_stride + h * kHeadDim;
          dv::cpu::AttendHead(type, kHeadDim, q.data() + offset, k.data(), v.data(), stride, n_pos[t], scale,
                              out.data() + offset, scratch);
        }
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["pairs/s"] = benchmark::Counter(static_cast<double>(pairs) * state.iterations(),
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(dv::cpu::Features().ToString());
}

void AttentionArgs(benchmark::internal::Benchmark* b) {
  b->Args({512, 1})->Args({4096, 1})->Args({512, 32})->Args({4096, 32});
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Gemv, q4_K, TensorType::kQ4_K)->Apply(GemvArgs);
BENCHMARK_CAPTURE(BM_Gemv, q6_K, TensorType::kQ6_K)->Apply(GemvArgs);
BENCHMARK_CAPTURE(BM_Gemv, q8_0, TensorType::kQ8_0)->Apply(GemvArgs);
BENCHMARK_CAPTURE(BM_Gemm, q4_K, TensorType::kQ4_K)->Apply(GemmArgs);
BENCHMARK_CAPTURE(BM_Gemm, q6_K, TensorType::kQ6_K)->Apply(GemmArgs);
BENCHMARK_CAPTURE(BM_Gemm, q8_0, TensorType::kQ8_0)->Apply(GemmArgs);
BENCHMARK_CAPTURE(BM_Attention, f16_per_head, TensorType::kF16, false)->Apply(AttentionArgs);
BENCHMARK_CAPTURE(BM_Attention, f16_grouped, TensorType::kF16, true)->Apply(AttentionArgs);
BENCHMARK_CAPTURE(BM_Attention, q8_0_grouped, TensorType::kQ8_0, true)->Apply(AttentionArgs);

BENCHMARK_MAIN();
