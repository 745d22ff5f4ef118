// Micro-benchmarks for src/common: UTF-8 validation throughput on mixed Chinese/English text.
#include <benchmark/benchmark.h>

#include <string>

#include "common/utf8.h"

namespace {

std::string MixedText(size_t bytes) {
  const std::string unit = "深度求索 DeepSeek 本地部署知识库, retrieval-augmented generation 检索增强生成。";
  std::string s;
  while (s.size() < bytes) s += unit;
  return s;
}

void BM_Utf8IsValid(benchmark::State& state) {
  const std::string text = MixedText(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(dv::utf8::IsValid(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Utf8IsValid)->Arg(1 << 20);

void BM_Utf8ToCodePoints(benchmark::State& state) {
  const std::string text = MixedText(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(dv::utf8::ToCodePoints(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Utf8ToCodePoints)->Arg(1 << 20);

}  // namespace
