// Weight-format throughput: scalar dequantization and quantization of one 4096-element row per
// type (Gaussian weights, single thread; bytes/s counts float32 bytes), and opening a GGUF file
// with the tensor table of a 70B llama in Q4_K (722 tensors, a 128256-token vocabulary, ~40 GB
// sparse file: opening must not read the data).
//
//   ./build/bin/bench_quant --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/quantize.h"

namespace {

using dv::quant::TensorType;
constexpr size_t kRow = 4096;

std::vector<float> GaussianRow() {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(kRow);
  for (float& v : x) v = normal(rng);
  return x;
}

void BM_Dequantize(benchmark::State& state, TensorType type) {
  const std::vector<float> x = GaussianRow();
  std::vector<uint8_t> q(*dv::quant::RowBytes(type, kRow));
  if (!dv::quant::QuantizeRow(type, x, q).ok()) state.SkipWithError("quantize failed");
  std::vector<float> y(kRow);
  for (auto _ : state) {
    dv::quant::DequantizeRow(type, q, y).IgnoreError();
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRow * sizeof(float)));
}

void BM_Quantize(benchmark::State& state, TensorType type) {
  const std::vector<float> x = GaussianRow();
  std::vector<uint8_t> q(*dv::quant::RowBytes(type, kRow));
  for (auto _ : state) {
    dv::quant::QuantizeRow(type, x, q).IgnoreError();
    benchmark::DoNotOptimize(q.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRow * sizeof(float)));
}

// A GGUF header with 80 layers x 9 tensors + 3, Q4_K, shapes of a 70B llama; data left sparse.
std::filesystem::path MakeLargeModelFile() {
  const auto path = std::filesystem::temp_directory_path() / "dv_bench_70b_header.gguf";
  dv::gguf::GgufWriter w;
  w.AddString("general.architecture", "llama").IgnoreError();
  std::vector<std::string> vocab(128256);
  for (size_t i = 0; i < vocab.size(); ++i) vocab[i] = "tok" + std::to_string(i);
  w.AddStringArray("tokenizer.ggml.tokens", vocab).IgnoreError();
  struct Shape {
    std::string name;
    uint64_t ne0, ne1;
  };
  std::vector<Shape> shapes = {{"token_embd.weight", 8192, 128256}, {"output.weight", 8192, 128256}};
  for (int l = 0; l < 80; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const Shape& s : {Shape{"attn_q.weight", 8192, 8192}, Shape{"attn_k.weight", 8192, 1024},
                           Shape{"attn_v.weight", 8192, 1024}, Shape{"attn_output.weight", 8192, 8192},
                           Shape{"ffn_gate.weight", 8192, 28672}, Shape{"ffn_up.weight", 8192, 28672},
                           Shape{"ffn_down.weight", 28672, 8192}, Shape{"attn_norm.weight", 256, 1},
                           Shape{"ffn_norm.weight", 256, 1}}) {
      shapes.push_back({p + s.name, s.ne0, s.ne1});
    }
  }
  // Only the header is written; the data section is a hole (sparse file).
  for (const Shape& s : shapes) {
    const uint64_t ne[] = {s.ne0, s.ne1};
    w.AddTensor(s.name, TensorType::kQ4_K, ne, [](std::span<uint8_t>) { return dv::Status(); }).IgnoreError();
  }
  const std::string header = w.HeaderBytes();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return path;
  std::fwrite(header.data(), 1, header.size(), f);
  std::fclose(f);
  std::filesystem::resize_file(path, header.size() + w.DataSectionBytes());
  return path;
}

void BM_OpenLargeModel(benchmark::State& state) {
  const auto path = MakeLargeModelFile();
  for (auto _ : state) {
    auto f = dv::gguf::GgufFile::Open(path);
    if (!f.ok()) {
      state.SkipWithError(f.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(f->tensors().data());
  }
  std::filesystem::remove(path);
}

}  // namespace

#define DV_TYPES(X) X(F16) X(BF16) X(Q8_0) X(Q4_0) X(Q4_1) X(Q5_0) X(Q5_1) X(Q2_K) X(Q3_K) X(Q4_K) X(Q5_K) X(Q6_K)
#define DV_REGISTER(T)                                                  \
  BENCHMARK_CAPTURE(BM_Dequantize, T, TensorType::k##T);                \
  BENCHMARK_CAPTURE(BM_Quantize, T, TensorType::k##T);
DV_TYPES(DV_REGISTER)
BENCHMARK(BM_OpenLargeModel)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
