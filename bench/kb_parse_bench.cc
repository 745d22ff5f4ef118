// Parser throughput (src/kb/parse): the laws-zh Markdown corpus end to end, and each fixture type.
// Inputs are read before timing; bytes/s counts input bytes.
//   build/bin/bench_kb_parse [--benchmark_filter=...]
// DV_SHARED_DIR overrides the ../shared location; the corpus benchmark is skipped without it.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kb/parse/parser.h"

namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path SourceDir() {
  return fs::path(DV_SOURCE_DIR);
}

fs::path SharedDir() {
  const char* env = std::getenv("DV_SHARED_DIR");
  return env ? fs::path(env) : SourceDir() / ".." / "shared";
}

void BM_ParseLawsZhCorpus(benchmark::State& state) {
  fs::path dir = SharedDir() / "corpora" / "laws-zh";
  if (!fs::exists(dir)) {
    state.SkipWithError("../shared/corpora/laws-zh not found");
    return;
  }
  std::vector<std::pair<std::string, std::string>> files;
  int64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    files.emplace_back(e.path().filename().string(), Slurp(e.path()));
    bytes += static_cast<int64_t>(files.back().second.size());
  }
  for (auto _ : state) {
    size_t blocks = 0;
    for (const auto& [name, data] : files) {
      auto doc = dv::kb::ParseDocument(name, data);
      if (!doc.ok()) state.SkipWithError(doc.status().ToString().c_str());
      blocks += doc->blocks.size();
    }
    benchmark::DoNotOptimize(blocks);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["files"] = static_cast<double>(files.size());
}
BENCHMARK(BM_ParseLawsZhCorpus)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ParseFixture(benchmark::State& state, const char* name) {
  const std::string data = Slurp(SourceDir() / "tests" / "fixtures" / "docs" / name);
  dv::kb::ParseOptions options;
  options.enable_ocr = false;
  for (auto _ : state) {
    auto doc = dv::kb::ParseDocument(name, data, options);
    if (!doc.ok()) state.SkipWithError(doc.status().ToString().c_str());
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK_CAPTURE(BM_ParseFixture, docx, "handbook.docx")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseFixture, xlsx, "inventory.xlsx")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseFixture, pptx, "handbook.pptx")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseFixture, pdf, "report.pdf")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseFixture, html, "handbook.html")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseFixture, eml, "review.eml")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseFixture, gb18030, "law-gb18030.txt")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
