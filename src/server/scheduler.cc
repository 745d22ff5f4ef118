#include "server/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace dv::server {

struct Scheduler::Pending {
  uint64_t id = 0;
  GenerateJob job;
  SteadyClock::time_point submitted;
};

struct Scheduler::Seq {
  uint64_t id = 0;
  GenerateJob job;
  sampling::Sampler sampler;
  int slot = 0;
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  int prompt_len = 0;
  int n_past = 0;               // tokens whose KV is in the slot
  int generated = 0;
  bool done = false;
  JobResult result;
  SteadyClock::time_point submitted;

  Seq(uint64_t i, GenerateJob j, sampling::Sampler s) : id(i), job(std::move(j)), sampler(std::move(s)) {}
  bool prefilling() const { return n_past < prompt_len; }
};

namespace {
constexpr int kClosingWindow = 64;  // tokens left at which a grammar's closing text is considered
double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Scheduler::Scheduler(std::unique_ptr<LoadedModel> model, SchedulerOptions options)
    : model_(std::move(model)),
      options_(options),
      n_slots_(model_->info().n_slots),
      n_ctx_(model_->info().n_ctx),
      n_vocab_(model_->config().n_vocab),
      slot_tokens_(static_cast<size_t>(n_slots_)),
      slot_busy_(static_cast<size_t>(n_slots_), false) {
  options_.max_batch_tokens = std::max(options_.max_batch_tokens, n_slots_ + 1);
  for (int s = 0; s < n_slots_; ++s) {
    auto seq = model_->engine().CreateSequence();
    if (!seq.ok()) {  // the engine was loaded with n_slots sequences: cannot happen
      spdlog::error("creating engine sequence {}: {}", s, seq.status().Describe());
      slot_busy_[static_cast<size_t>(s)] = true;  // never used
      slot_seq_.push_back(-1);
      continue;
    }
    slot_seq_.push_back(*seq);
  }
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<uint64_t> Scheduler::Submit(GenerateJob job) {
  if (job.prompt.empty()) return InvalidArgument("the prompt is empty after tokenization");
  for (int32_t t : job.prompt) {
    if (t < 0 || t >= n_vocab_) return InvalidArgument("token id " + std::to_string(t) + " is outside the vocabulary");
  }
  if (static_cast<int>(job.prompt.size()) >= n_ctx_) {
    return InvalidArgument("the prompt has " + std::to_string(job.prompt.size()) +
                           " tokens but this model's context holds " + std::to_string(n_ctx_) +
                           " (prompt plus at least one generated token)");
  }
  if (job.max_new_tokens < 1) return InvalidArgument("max_new_tokens must be >= 1");
  DV_RETURN_IF_ERROR(job.sampling.Validate(n_vocab_));
  std::lock_guard lock(mu_);
  if (stopping_) return Unavailable("the model is being unloaded");
  if (static_cast<int>(queue_.size()) >= options_.max_queue) {
    return ResourceExhausted("the request queue of this model is full (" + std::to_string(options_.max_queue) +
                             " waiting); retry later");
  }
  const uint64_t id = next_id_++;
  queue_.push_back(Pending{id, std::move(job), SteadyClock::now()});
  cv_.notify_one();
  return id;
}

Status Scheduler::SubmitEmbedding(EmbedJob job) {
  if (job.tokens.empty()) return InvalidArgument("the input is empty after tokenization");
  if (static_cast<int>(job.tokens.size()) > n_ctx_) {
    return InvalidArgument("the input has " + std::to_string(job.tokens.size()) +
                           " tokens but this model's context holds " + std::to_string(n_ctx_));
  }
  std::lock_guard lock(mu_);
  if (stopping_) return Unavailable("the model is being unloaded");
  if (static_cast<int>(embed_queue_.size() + queue_.size()) >= options_.max_queue) {
    return ResourceExhausted("the request queue of this model is full; retry later");
  }
  embed_queue_.push_back(std::move(job));
  cv_.notify_one();
  return Status::Ok();
}

void Scheduler::Cancel(uint64_t id) {
  {
    std::lock_guard lock(mu_);
    cancelled_.insert(id);
  }
  cv_.notify_one();
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  s.forward_passes = forward_passes_.load();
  s.generated_tokens = generated_tokens_.load();
  s.prompt_tokens_computed = prompt_computed_.load();
  s.prompt_tokens_cached = prompt_cached_.load();
  s.active = active_count_.load();
  s.kv_positions_used = kv_used_.load();
  s.kv_positions_total = static_cast<int64_t>(n_slots_) * n_ctx_;
  std::lock_guard lock(mu_);
  s.queued = static_cast<int64_t>(queue_.size() + embed_queue_.size());
  return s;
}

int Scheduler::FreeSlotFor(const std::vector<int32_t>& prompt, int* reuse) {
  int best = -1, best_len = -1;
  for (int s = 0; s < n_slots_; ++s) {
    if (slot_busy_[static_cast<size_t>(s)]) continue;
    const auto& cached = slot_tokens_[static_cast<size_t>(s)];
    const size_t limit = std::min(cached.size(), prompt.size() - 1);  // always compute >= 1 token
    size_t n = 0;
    while (n < limit && cached[n] == prompt[n]) ++n;
    if (static_cast<int>(n) > best_len) {
      best = s;
      best_len = static_cast<int>(n);
    }
  }
  *reuse = std::max(best_len, 0);
  return best;
}

void Scheduler::Finish(Seq& seq, FinishReason reason, Status error) {
  if (seq.done) return;
  seq.done = true;
  seq.result.reason = reason;
  seq.result.error = std::move(error);
  seq.result.prompt_tokens = seq.prompt_len;
  seq.result.completion_tokens = seq.generated;
  seq.result.total_s = Seconds(SteadyClock::now() - seq.submitted);
  // The slot keeps the keys/values of the tokens it has computed, for later prefix reuse.
  auto& cached = slot_tokens_[static_cast<size_t>(seq.slot)];
  cached.assign(seq.tokens.begin(), seq.tokens.begin() + seq.n_past);
  slot_busy_[static_cast<size_t>(seq.slot)] = false;
  if (seq.job.on_done) seq.job.on_done(seq.result);
}

void Scheduler::Loop() {
  while (true) {
    std::vector<Pending> admitted;
    std::vector<Pending> expired;
    std::vector<EmbedJob> embeds;
    std::unordered_set<uint64_t> cancelled;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !embed_queue_.empty() || !active_.empty(); });
      stopping = stopping_;
      cancelled.swap(cancelled_);
      const auto now = SteadyClock::now();
      // Drop queued jobs that were cancelled or ran out of time while waiting.
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (stopping || cancelled.count(it->id) || it->job.deadline <= now) {
          expired.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      int free_slots = static_cast<int>(std::count(slot_busy_.begin(), slot_busy_.end(), false));
      while (!stopping && free_slots > 0 && !embed_queue_.empty()) {
        embeds.push_back(std::move(embed_queue_.front()));
        embed_queue_.pop_front();
        --free_slots;
        break;  // one embedding per step keeps generation streams moving
      }
      while (!stopping && free_slots > 0 && !queue_.empty()) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
        --free_slots;
      }
      if (stopping) {
        for (auto& e : embed_queue_) embeds.push_back(std::move(e));
        embed_queue_.clear();
      }
    }
    const auto now = SteadyClock::now();
    for (auto& p : expired) {
      JobResult r;
      r.reason = stopping ? FinishReason::kCancelled
                          : (cancelled.count(p.id) ? FinishReason::kCancelled : FinishReason::kDeadline);
      r.prompt_tokens = static_cast<int>(p.job.prompt.size());
      r.queue_s = r.total_s = Seconds(now - p.submitted);
      if (p.job.on_done) p.job.on_done(r);
    }
    for (auto& seq : active_) {
      if (stopping || cancelled.count(seq->id)) {
        Finish(*seq, FinishReason::kCancelled);
      } else if (seq->job.deadline <= now) {
        Finish(*seq, FinishReason::kDeadline);
      }
    }
    if (stopping) {
      for (auto& e : embeds) {
        if (e.on_done) e.on_done(Cancelled("the model is being unloaded"));
      }
      active_.clear();
      active_count_.store(0);
      return;
    }
    for (auto& e : embeds) {
      // The free slot with the least cached context, so prefix caches of chat prompts survive.
      int slot = -1;
      for (int s = 0; s < n_slots_; ++s) {
        if (slot_busy_[static_cast<size_t>(s)]) continue;
        if (slot < 0 || slot_tokens_[static_cast<size_t>(s)].size() < slot_tokens_[static_cast<size_t>(slot)].size()) {
          slot = s;
        }
      }
      RunEmbedding(e, slot);
    }
    Admit(admitted);
    std::erase_if(active_, [](const auto& s) { return s->done; });
    active_count_.store(static_cast<int64_t>(active_.size()));
    if (!active_.empty()) Step();
    std::erase_if(active_, [](const auto& s) { return s->done; });
    active_count_.store(static_cast<int64_t>(active_.size()));
    int64_t used = 0;
    for (const auto& s : active_) used += s->n_past;
    kv_used_.store(used);
  }
}

void Scheduler::Admit(std::vector<Pending>& admitted) {
  const auto now = SteadyClock::now();
  for (auto& p : admitted) {
    int reuse = 0;
    const int slot = FreeSlotFor(p.job.prompt, &reuse);
    auto sampler = sampling::Sampler::Create(p.job.sampling, n_vocab_);  // validated by Submit
    auto seq = std::make_unique<Seq>(p.id, std::move(p.job), std::move(sampler).value());
    seq->slot = slot;
    seq->submitted = p.submitted;
    seq->result.queue_s = Seconds(now - p.submitted);
    seq->tokens = seq->job.prompt;
    seq->prompt_len = static_cast<int>(seq->tokens.size());
    seq->n_past = reuse;
    seq->result.cached_prompt_tokens = reuse;
    slot_busy_[static_cast<size_t>(slot)] = true;
    if (Status st = model_->engine().TruncateSequence(slot_seq_[static_cast<size_t>(slot)], reuse); !st.ok()) {
      slot_tokens_[static_cast<size_t>(slot)].clear();
      active_.push_back(std::move(seq));
      Finish(*active_.back(), FinishReason::kError, std::move(st));
      continue;
    }
    prompt_cached_.fetch_add(static_cast<uint64_t>(reuse));
    active_.push_back(std::move(seq));
  }
}

void Scheduler::Step() {
  std::vector<engine::BatchItem> batch;
  std::vector<Seq*> owners;  // the sequence of each output row, in batch order
  int budget = options_.max_batch_tokens;
  // Generating sequences first: one token each.
  for (auto& s : active_) {
    if (s->done || s->prefilling()) continue;
    batch.push_back({slot_seq_[static_cast<size_t>(s->slot)], s->tokens[static_cast<size_t>(s->n_past)], true});
    owners.push_back(s.get());
    --budget;
  }
  // Then prompt chunks, shared fairly among sequences in prefill.
  std::vector<Seq*> prefill;
  for (auto& s : active_) {
    if (!s->done && s->prefilling()) prefill.push_back(s.get());
  }
  std::vector<std::pair<Seq*, int>> fed;  // sequence, tokens fed this step
  if (!prefill.empty() && budget > 0) {
    const int share = std::max(1, budget / static_cast<int>(prefill.size()));
    for (Seq* s : prefill) {
      const int n = std::min({share, budget, s->prompt_len - s->n_past});
      if (n <= 0) break;
      for (int i = 0; i < n; ++i) {
        const int pos = s->n_past + i;
        const bool last = pos == s->prompt_len - 1;
        batch.push_back({slot_seq_[static_cast<size_t>(s->slot)], s->tokens[static_cast<size_t>(pos)], last});
        if (last) owners.push_back(s);
      }
      fed.emplace_back(s, n);
      budget -= n;
    }
  }
  if (batch.empty()) return;
  // Outputs are appended in batch order: decode rows first, then prefill-final rows in `fed`
  // order, which matches the order `owners` was filled.
  engine::Engine& engine = model_->engine();
  Status st = engine.Decode(batch);
  forward_passes_.fetch_add(1);
  if (!st.ok()) {
    spdlog::error("forward pass failed: {}", st.Describe());
    for (auto& s : active_) {
      if (!s->done) Finish(*s, FinishReason::kError, Internal("forward pass failed: " + st.message()));
    }
    return;
  }
  for (auto& [s, n] : fed) {
    s->n_past += n;
    prompt_computed_.fetch_add(static_cast<uint64_t>(n));
  }
  const auto now = SteadyClock::now();
  for (size_t row = 0; row < owners.size(); ++row) {
    Seq& s = *owners[row];
    if (!s.prefilling() && s.generated > 0 && s.n_past < static_cast<int>(s.tokens.size())) {
      ++s.n_past;  // the decode token fed this step is now in the cache
    }
    const std::span<const float> logits = engine.Logits(static_cast<int>(row));
    if (s.generated == 0) s.result.ttft_s = Seconds(now - s.submitted);
    const int32_t token = SampleNext(s, logits);
    if (token < 0) {
      Finish(s, FinishReason::kError,
             Internal("the model's vocabulary has no token that continues the constrained output"));
      continue;
    }
    TokenEvent ev;
    ev.token = token;
    ev.has_logprobs = s.job.top_logprobs >= 0;
    if (ev.has_logprobs) {
      ev.chosen = sampling::LogprobOf(logits, token);
      ev.top = sampling::TopLogprobs(logits, s.job.top_logprobs);
    }
    if (!s.job.ignore_stop_tokens && model_->IsStopToken(token)) {
      Finish(s, FinishReason::kStop);
      continue;
    }
    ++s.generated;
    generated_tokens_.fetch_add(1);
    s.tokens.push_back(token);
    bool grammar_done = false;
    if (s.job.grammar) {
      const tok::Tokenizer& tok = model_->tokenizer();
      // SampleNext allowed only tokens the matcher accepts.
      (void)s.job.grammar->Accept(tok.TokenBytes(token), tok.IsSpecial(token));
      grammar_done = !s.job.grammar->CanContinue();
    }
    const bool keep_going = !s.job.on_token || s.job.on_token(ev);
    if (!keep_going || grammar_done) {
      Finish(s, FinishReason::kStop);
    } else if (s.generated >= s.job.max_new_tokens || static_cast<int>(s.tokens.size()) >= n_ctx_) {
      Finish(s, FinishReason::kLength);
    }
  }
}

void Scheduler::RunEmbedding(EmbedJob& job, int slot) {
  if (SteadyClock::now() >= job.deadline) {
    if (job.on_done) job.on_done(DeadlineExceeded("the request passed its deadline while queued"));
    return;
  }
  const int n_embd = model_->config().n_embd;
  std::vector<double> sum(static_cast<size_t>(n_embd), 0.0);
  engine::Engine& engine = model_->engine();
  const engine::SequenceId seq = slot_seq_[static_cast<size_t>(slot)];
  slot_tokens_[static_cast<size_t>(slot)].clear();
  if (Status st = engine.TruncateSequence(seq, 0); !st.ok()) {
    if (job.on_done) job.on_done(std::move(st));
    return;
  }
  const int n = static_cast<int>(job.tokens.size());
  for (int start = 0; start < n; start += options_.max_batch_tokens) {
    const int end = std::min(n, start + options_.max_batch_tokens);
    std::vector<engine::BatchItem> batch;
    for (int i = start; i < end; ++i) {
      const bool want = job.last_token_pooling ? i == n - 1 : true;
      batch.push_back({seq, job.tokens[static_cast<size_t>(i)], want});
    }
    Status st = engine.DecodeEmbeddings(batch);
    forward_passes_.fetch_add(1);
    if (!st.ok()) {
      if (job.on_done) job.on_done(std::move(st));
      return;
    }
    for (int row = 0; row < engine.n_outputs(); ++row) {
      const std::span<const float> h = engine.Embedding(row);
      for (int d = 0; d < n_embd; ++d) sum[static_cast<size_t>(d)] += h[static_cast<size_t>(d)];
    }
  }
  prompt_computed_.fetch_add(static_cast<uint64_t>(n));
  double norm = 0;
  for (double v : sum) norm += v * v;
  norm = std::sqrt(norm);
  std::vector<float> out(static_cast<size_t>(n_embd));
  for (int d = 0; d < n_embd; ++d) {
    out[static_cast<size_t>(d)] = norm > 0 ? static_cast<float>(sum[static_cast<size_t>(d)] / norm) : 0.0f;
  }
  if (job.on_done) job.on_done(std::move(out));
}

int32_t Scheduler::SampleNext(Seq& s, std::span<const float> logits) {
  if (!s.job.grammar) return s.sampler.Sample(logits, s.tokens);
  const grammar::JsonMatcher& g = *s.job.grammar;
  g.AllowedTokens(model_->token_trie(), &allowed_);
  const bool may_end = g.IsComplete();
  masked_.assign(logits.begin(), logits.end());
  bool any = false;
  for (size_t i = 0; i < masked_.size(); ++i) {
    const bool ok = i < allowed_.size() ? allowed_[i] != 0 : false;
    if (!ok) masked_[i] = -INFINITY;
    any |= ok;
  }
  for (int32_t stop : model_->stop_tokens()) {
    if (may_end && stop < n_vocab_) {
      masked_[static_cast<size_t>(stop)] = logits[static_cast<size_t>(stop)];
      any = true;
    }
  }
  if (!any) return -1;
  // Near the end of the token budget, write the shortest text that closes the document (the
  // longest allowed token that begins it), so that the output is complete JSON whenever the
  // budget allows. Conservative: one byte per token.
  const int budget = std::min(s.job.max_new_tokens - s.generated, n_ctx_ - static_cast<int>(s.tokens.size()));
  if (budget <= kClosingWindow) {
    if (auto closing = g.ClosingText(); closing && static_cast<int>(closing->size()) + 1 >= budget) {
      if (closing->empty()) return may_end && !model_->stop_tokens().empty() ? model_->stop_tokens().front() : -1;
      const tok::Tokenizer& tok = model_->tokenizer();
      int32_t best = -1;
      size_t best_len = 0;
      for (size_t i = 0; i < allowed_.size(); ++i) {
        if (!allowed_[i]) continue;
        const std::string_view bytes = tok.TokenBytes(static_cast<int32_t>(i));
        if (bytes.size() > best_len && std::string_view(*closing).starts_with(bytes)) {
          best = static_cast<int32_t>(i);
          best_len = bytes.size();
        }
      }
      if (best >= 0) return best;
    }
  }
  const int32_t token = s.sampler.Sample(masked_, s.tokens);
  return masked_[static_cast<size_t>(token)] == -INFINITY ? -1 : token;
}

}  // namespace dv::server
