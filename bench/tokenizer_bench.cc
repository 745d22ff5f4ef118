// Tokenizer encode/decode throughput on mixed Chinese/English text: the Chinese civil code and
// other laws (../shared/corpora/laws-zh) interleaved with "The Rust Programming Language"
// (../shared/corpora/rust-book-en), about 2 MB each. Single-threaded; bytes/s is per core.
//
//   ./build/bin/bench_tokenizer --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// DV_SHARED_DIR overrides the ../shared location, DV_SOURCE_DIR the source tree. DV_BENCH_TEXT=FILE uses FILE as the text
// instead; DV_BENCH_DUMP_TEXT=FILE writes the mixed text to FILE and exits (to run the same
// benchmark on another machine).
//
// The "/icu" variants force the generic ICU regex engine (the pattern is wrapped in a group, so
// the hand-written matcher is not selected) to show what the fast splitters buy.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "engine/tokenizer/load_hf.h"
#include "engine/tokenizer/loader.h"

namespace {

namespace fs = std::filesystem;
using dv::tok::Tokenizer;

const fs::path kShared = std::getenv("DV_SHARED_DIR") != nullptr ? fs::path(std::getenv("DV_SHARED_DIR"))
                                                                  : fs::path(DV_SOURCE_DIR) / ".." / "shared";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Up to `limit` bytes of .md files under `dir`, in sorted path order.
std::vector<std::string> Documents(const fs::path& dir, size_t limit) {
  std::vector<fs::path> files;
  if (!fs::exists(dir)) return {};
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".md") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> docs;
  size_t total = 0;
  for (const auto& f : files) {
    if (total >= limit) break;
    docs.push_back(dv::utf8::Sanitize(ReadAll(f)));
    total += docs.back().size();
  }
  return docs;
}

const std::string& MixedText() {
  static const std::string text = [] {
    if (const char* file = std::getenv("DV_BENCH_TEXT")) return dv::utf8::Sanitize(ReadAll(file));
    const auto zh = Documents(kShared / "corpora" / "laws-zh", 2 << 20);
    const auto en = Documents(kShared / "corpora" / "rust-book-en", 2 << 20);
    std::string t;
    for (size_t i = 0; i < std::max(zh.size(), en.size()); ++i) {
      if (i < zh.size()) t += zh[i];
      if (i < en.size()) t += en[i];
    }
    return t;
  }();
  return text;
}

std::unique_ptr<Tokenizer> Load(const fs::path& path, bool force_icu) {
  auto spec = dv::tok::LoadTokenizerSpec(path);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    return nullptr;
  }
  if (force_icu) {
    for (auto& step : spec->pre_tokenizers) {
      if (step.kind == dv::tok::PreTokenizerStep::Kind::kSplit && step.pattern_is_regex) {
        step.pattern = "(?:" + step.pattern + ")";
      }
    }
  }
  auto tok = Tokenizer::Create(std::move(spec).value());
  return tok.ok() ? std::move(tok).value() : nullptr;
}

void BM_Encode(benchmark::State& state, const fs::path& path, bool force_icu) {
  const std::string& text = MixedText();
  auto tok = Load(path, force_icu);
  if (text.empty() || tok == nullptr) {
    state.SkipWithError("../shared corpora or tokenizer missing");
    return;
  }
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = tok->Encode(text);
    n_tokens = ids->size();
    benchmark::DoNotOptimize(ids->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_Decode(benchmark::State& state, const fs::path& path) {
  const std::string& text = MixedText();
  auto tok = Load(path, false);
  if (text.empty() || tok == nullptr) {
    state.SkipWithError("../shared corpora or tokenizer missing");
    return;
  }
  const auto ids = tok->Encode(text).value();
  for (auto _ : state) {
    auto out = tok->Decode(ids);
    benchmark::DoNotOptimize(out->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Load(benchmark::State& state, const fs::path& path) {
  for (auto _ : state) {
    auto tok = dv::tok::LoadTokenizer(path);
    if (!tok.ok()) {
      state.SkipWithError("tokenizer missing");
      return;
    }
    benchmark::DoNotOptimize(tok->get());
  }
}

const fs::path kDeepSeekV3 = kShared / "fixtures/tokenizers/deepseek-v3/tokenizer.json";
const fs::path kQwen3 = kShared / "fixtures/tokenizers/qwen3/tokenizer.json";
const fs::path kLlama3 = (std::getenv("DV_SOURCE_DIR") != nullptr ? fs::path(std::getenv("DV_SOURCE_DIR"))
                                                                  : fs::path(DV_SOURCE_DIR)) /
                         "tests/fixtures/tokenizers/llama3/tokenizer.json.gz";

BENCHMARK_CAPTURE(BM_Encode, deepseek_v3, kDeepSeekV3, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3, kQwen3, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama3, kLlama3, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, deepseek_v3/icu, kDeepSeekV3, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3/icu, kQwen3, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, qwen3, kQwen3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, deepseek_v3, kDeepSeekV3)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_Load, qwen3, kQwen3)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  if (const char* dump = std::getenv("DV_BENCH_DUMP_TEXT")) {
    std::ofstream(dump, std::ios::binary) << MixedText();
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
