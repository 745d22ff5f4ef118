// Continuous batching for one loaded model.
//
// One thread per model runs steps. Each step builds a single batch for Engine::Decode:
//   1. one token for every sequence that is generating (its last sampled token),
//   2. then prompt tokens of sequences still in prefill, in chunks, up to max_batch_tokens in all,
// so a long prompt is spread over several steps and never stalls the streams already running.
// New jobs join between steps when a KV slot is free; otherwise they wait in a bounded queue
// (Submit fails with ResourceExhausted when it is full: the server answers 429).
//
// Every KV slot is one engine sequence, created once and kept for the scheduler's lifetime.
// Prefix caching: a finished sequence leaves its tokens' keys/values in its slot. A new job takes
// the free slot whose cached tokens share the longest prefix with its prompt, truncates the
// sequence to that prefix (Engine::TruncateSequence) and skips computing it (a shared system
// prompt or RAG context is computed once).
//
// Sampling is dv_sampling's (engine/sampling/sampler.h) over the history of the sequence; a job
// with a grammar has the logits of tokens that cannot extend valid output set to -inf first, may
// end only where the grammar is complete, and ends as soon as nothing can follow. When the tokens
// left (max_new_tokens, context) just suffice for the grammar's shortest closing text, that text
// is written instead of sampling, so constrained output is complete whenever the budget allows.
//
// Callbacks run on the scheduler thread and must be quick (format and hand off bytes). A job
// ends exactly once through on_done: finished (stop token, on_token returned false, token limit,
// context full), cancelled (Cancel), past its deadline, or failed.
//
// Thread safety: Submit, SubmitEmbedding, Cancel and stats() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

#include "deepvault/status.h"
#include "engine/grammar/json_matcher.h"
#include "engine/sampling/sampler.h"
#include "server/loaded_model.h"

namespace dv::server {

using SteadyClock = std::chrono::steady_clock;

struct SchedulerOptions {
  int max_batch_tokens = 512;  // tokens per forward pass (decode + prefill chunk)
  int max_queue = 64;          // jobs waiting for a slot
};

using sampling::TokenLogprob;

struct TokenEvent {
  int32_t token = 0;
  bool has_logprobs = false;
  TokenLogprob chosen;            // log-probabilities of the model's own distribution (raw logits)
  std::vector<TokenLogprob> top;
};

enum class FinishReason { kStop, kLength, kCancelled, kDeadline, kError };

struct JobResult {
  FinishReason reason = FinishReason::kStop;
  Status error;               // set for kError
  int prompt_tokens = 0;
  int cached_prompt_tokens = 0;  // prompt tokens reused from the prefix cache
  int completion_tokens = 0;
  double queue_s = 0;         // waiting for a slot
  double ttft_s = 0;          // submit → first token
  double total_s = 0;         // submit → done
};

struct GenerateJob {
  std::vector<int32_t> prompt;  // REQUIRES: non-empty, ids < n_vocab
  int max_new_tokens = 256;     // >= 1; also bounded by the context
  sampling::SamplingParams sampling;  // validated by Submit
  int top_logprobs = -1;        // -1: none; 0: the chosen token's; n: and the top n
  // Constrained decoding: a fresh matcher for this job (its schema and wrapper), or empty.
  std::optional<grammar::JsonMatcher> grammar;
  bool ignore_stop_tokens = false;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  std::function<bool(const TokenEvent&)> on_token;  // false: stop here (reason kStop)
  std::function<void(const JobResult&)> on_done;
};

struct EmbedJob {
  std::vector<int32_t> tokens;
  bool last_token_pooling = false;  // else mean pooling
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  std::function<void(Result<std::vector<float>>)> on_done;  // L2-normalised embedding
};

struct SchedulerStats {
  uint64_t forward_passes = 0;
  uint64_t generated_tokens = 0;
  uint64_t prompt_tokens_computed = 0;
  uint64_t prompt_tokens_cached = 0;
  int64_t queued = 0;
  int64_t active = 0;
  int64_t kv_positions_used = 0;  // positions of active sequences
  int64_t kv_positions_total = 0;
};

class Scheduler {
 public:
  Scheduler(std::unique_ptr<LoadedModel> model, SchedulerOptions options);
  // Shutdown().
  ~Scheduler();
  // Cancels every job (on_done with kCancelled, on the scheduler thread) and joins the thread.
  // REQUIRES: not called from a callback. Idempotent.
  void Shutdown();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a job; returns its id. InvalidArgument: empty prompt, bad token id, prompt that does
  // not fit the context, sampling parameters out of range. ResourceExhausted: queue full.
  Result<uint64_t> Submit(GenerateJob job);
  Status SubmitEmbedding(EmbedJob job);
  // Frees the job's sequence before the next step; no-op for unknown or finished ids.
  void Cancel(uint64_t id);

  SchedulerStats stats() const;
  const LoadedModel& model() const { return *model_; }

 private:
  struct Seq;
  struct Pending;
  void Loop();
  void Admit(std::vector<Pending>& admitted);
  void Step();
  void RunEmbedding(EmbedJob& job, int slot);
  // Samples the next token of `s` from `logits` (grammar mask applied); -1 when the grammar
  // allows no token at all.
  int32_t SampleNext(Seq& s, std::span<const float> logits);
  void Finish(Seq& seq, FinishReason reason, Status error = Status());
  int FreeSlotFor(const std::vector<int32_t>& prompt, int* reuse);

  std::unique_ptr<LoadedModel> model_;
  SchedulerOptions options_;
  const int n_slots_, n_ctx_, n_vocab_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  std::deque<EmbedJob> embed_queue_;
  std::unordered_set<uint64_t> cancelled_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;

  // Scheduler thread only.
  std::vector<std::unique_ptr<Seq>> active_;
  std::vector<engine::SequenceId> slot_seq_;       // the engine sequence of each slot
  std::vector<std::vector<int32_t>> slot_tokens_;  // tokens whose KV each slot holds
  std::vector<bool> slot_busy_;
  std::vector<float> masked_;                      // scratch: logits with the grammar mask
  std::vector<uint8_t> allowed_;                   // scratch: grammar mask

  std::atomic<uint64_t> forward_passes_{0}, generated_tokens_{0}, prompt_computed_{0}, prompt_cached_{0};
  std::atomic<int64_t> active_count_{0}, kv_used_{0};
  std::thread thread_;
};

}  // namespace dv::server
