// deepvault bench: prompt-processing and generation speed of a model, like llama-bench's pp/tg.
//
//   deepvault bench -m MODEL [-p 512] [-n 128] [-b 1] [-t THREADS] [-r REPS] [--cache-type f16|q8_0|f32] [--mmap]
//                   [--json]
// pp: one forward pass over p tokens (chunks of 512) into an empty sequence; tg: n decode steps
// from empty sequences, each step one forward pass with one token of each of the b sequences (the
// server's continuous batching with b streams; tokens/s counts all of them). Each is repeated REPS
// times after a warm-up; the median, minimum and maximum are reported, with the weight bytes read
// per step × steps/s as effective memory bandwidth.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "cli/commands.h"
#include "deepvault/engine.h"

namespace dv::cli {
namespace {

struct BenchOptions {
  std::string model;
  int pp = 512, tg = 128, batch = 1, threads = 0, reps = 5;
  std::string cache_type = "f16";
  bool json = false;
  bool mmap = false;
};

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  if (v.empty()) return s;
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

Status RunBench(const BenchOptions& o) {
  const int n_ctx = std::max(o.pp, o.tg) + 1;
  const engine::KvCacheType kv_type = o.cache_type == "q8_0"  ? engine::KvCacheType::kQ8_0
                                      : o.cache_type == "f32" ? engine::KvCacheType::kF32
                                                              : engine::KvCacheType::kF16;
  DV_ASSIGN_OR_RETURN(auto e,
                      engine::Engine::Load(o.model, {.n_threads = o.threads,
                                                     .n_ctx = n_ctx,
                                                     .max_sequences = o.batch,
                                                     .kv_type = kv_type,
                                                     .weight_memory = o.mmap ? engine::WeightMemory::kFileMapping
                                                                                   : engine::WeightMemory::kHugePages}));
  const engine::ModelInfo& info = e->info();
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> token(0, info.n_vocab - 1);
  std::vector<int32_t> prompt(o.pp);
  for (auto& t : prompt) t = token(rng);
  DV_ASSIGN_OR_RETURN(engine::SequenceId seq, e->CreateSequence());
  std::vector<engine::SequenceId> batch_seqs{seq};  // the tg sequences
  for (int b = 1; b < o.batch; ++b) {
    DV_ASSIGN_OR_RETURN(engine::SequenceId s, e->CreateSequence());
    batch_seqs.push_back(s);
  }

  // Warm-up: pages in the weights, sizes the scratch buffers.
  if (o.pp > 0) {
    DV_RETURN_IF_ERROR(e->Prefill(seq, std::span(prompt).first(std::min(o.pp, 16))));
  } else {
    DV_RETURN_IF_ERROR(e->Decode(std::vector<engine::BatchItem>{{seq, 1, true}}));
  }
  std::vector<double> pp_rates, tg_rates;
  for (int r = 0; r < o.reps; ++r) {
    if (o.pp > 0) {
      DV_RETURN_IF_ERROR(e->TruncateSequence(seq, 0));
      const auto start = std::chrono::steady_clock::now();
      DV_RETURN_IF_ERROR(e->Prefill(seq, prompt));
      pp_rates.push_back(o.pp / Seconds(start));
    }
    if (o.tg > 0) {
      for (engine::SequenceId s : batch_seqs) DV_RETURN_IF_ERROR(e->TruncateSequence(s, 0));
      std::vector<engine::BatchItem> step(batch_seqs.size());
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < o.tg; ++i) {
        for (size_t b = 0; b < step.size(); ++b) {
          const int32_t t = prompt.empty() ? 1 : prompt[(i + 7 * b) % prompt.size()];
          step[b] = {batch_seqs[b], t, true};
        }
        DV_RETURN_IF_ERROR(e->Decode(step));
      }
      tg_rates.push_back(static_cast<double>(o.tg) * o.batch / Seconds(start));
    }
  }
  const Stats pp = Summarize(pp_rates), tg = Summarize(tg_rates);
  const double gb_per_s = tg.median / o.batch * static_cast<double>(info.bytes_per_token) / 1e9;
  if (o.json) {
    nlohmann::json j = {{"model", info.name},
                        {"arch", info.arch},
                        {"weight_type", info.weight_type},
                        {"isa", info.kernel_isa},
                        {"threads", info.n_threads},
                        {"reps", o.reps},
                        {"pp_tokens", o.pp},
                        {"tg_tokens", o.tg},
                        {"tg_batch", o.batch},
                        {"pp_tokens_per_s", pp.median},
                        {"pp_tokens_per_s_min", pp.min},
                        {"pp_tokens_per_s_max", pp.max},
                        {"tg_tokens_per_s", tg.median},
                        {"tg_tokens_per_s_min", tg.min},
                        {"tg_tokens_per_s_max", tg.max},
                        {"bytes_per_token", info.bytes_per_token},
                        {"kv_type", info.kv_type},
                        {"kv_cache_bytes", info.kv_cache_bytes},
                        {"tg_gb_per_s", gb_per_s}};
    std::printf("%s\n", j.dump().c_str());
    return Status::Ok();
  }
  std::printf("model %s (%s, %s, %.2f GB read per token), %d threads, %s kernels, %d reps\n", info.name.c_str(),
              info.arch.c_str(), info.weight_type.c_str(), info.bytes_per_token / 1e9, info.n_threads,
              info.kernel_isa.c_str(), o.reps);
  std::printf("KV cache %s, %.2f MiB for %d positions\n", info.kv_type.c_str(), info.kv_cache_bytes / 1048576.0,
              info.n_ctx);
  if (o.pp > 0) std::printf("pp%-5d %8.2f tok/s  (min %.2f, max %.2f)\n", o.pp, pp.median, pp.min, pp.max);
  if (o.tg > 0) {
    const std::string label = "tg" + std::to_string(o.tg) + (o.batch > 1 ? " x" + std::to_string(o.batch) : "");
    std::printf("%-7s %8.2f tok/s  (min %.2f, max %.2f)  %.1f GB/s of weights\n", label.c_str(), tg.median, tg.min,
                tg.max, gb_per_s);
  }
  return Status::Ok();
}

}  // namespace

void RegisterBench(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Measure prompt-processing and generation speed of a model");
  cmd->add_option("-m,--model", o->model, "Model: .gguf file or Hugging Face folder")->required();
  cmd->add_option("-p,--n-prompt", o->pp, "Prompt tokens per pp run (0: skip)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-n,--n-gen", o->tg, "Generated tokens per tg run (0: skip)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-b,--batch", o->batch, "Sequences decoded together in each tg step (tokens/s counts all)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)")->check(CLI::Range(0, 256));
  cmd->add_option("-r,--repetitions", o->reps, "Repetitions (median reported)")->check(CLI::Range(1, 1000));
  cmd->add_option("--cache-type", o->cache_type, "KV cache type: f16 (default), q8_0 or f32")
      ->check(CLI::IsMember({"f16", "q8_0", "f32"}));
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->add_flag("--mmap", o->mmap, "Map the model file instead of copying the weights into 2 MiB huge pages");
  cmd->callback([&ctx, o] {
    Status s = RunBench(*o);
    ctx.exit_code = s.ok() ? 0 : ReportError(s);
  });
}

}  // namespace dv::cli
