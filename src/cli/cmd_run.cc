// deepvault run: generate text from a prompt (or chat interactively) with a local model.
//
//   deepvault run -m MODEL [-p PROMPT | --chat] [-n N] [--temp T] [--seed S] [--top-k K] [--top-p P]
//                 [--min-p P] [--logprobs K] [--json] [-t THREADS] [-c CTX] [--stop S]...
//                 [--cache-type f16|q8_0|f32] [--mmap]
// Without --json only the generated text goes to stdout (streamed); with --json one object:
//   {"prompt_ids":[...], "generated_ids":[...], "text":"...", "logprobs":[[{"id":..,"logprob":..},...],...]}
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "cli/commands.h"
#include "deepvault/engine.h"
#include "engine/chat/chat_template.h"
#include "engine/sampling/sampler.h"
#include "engine/tokenizer/special_text_guard.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::cli {
namespace {

struct RunOptions {
  std::string model, prompt;
  bool chat = false, json = false;
  int n_predict = 256;
  std::optional<double> temp, top_p, min_p;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
  double repeat_penalty = 1.0;
  int logprobs = 0;
  int threads = 0, ctx = 0;
  std::string cache_type = "f16";
  bool mmap = false;
  std::vector<std::string> stops;
};

engine::KvCacheType CacheType(const std::string& name) {
  if (name == "q8_0") return engine::KvCacheType::kQ8_0;
  if (name == "f32") return engine::KvCacheType::kF32;
  return engine::KvCacheType::kF16;
}

struct Generation {
  std::vector<int32_t> ids;
  std::string text;
  std::vector<std::vector<sampling::TokenLogprob>> logprobs;
  bool hit_eos = false;
};

Result<sampling::SamplingParams> MakeParams(const RunOptions& o, const engine::ModelInfo& info) {
  sampling::SamplingParams p;
  p.temperature = o.temp.value_or(info.default_temperature);
  p.top_p = o.top_p.value_or(info.default_top_p);
  p.top_k = o.top_k.value_or(info.default_top_k);
  p.min_p = o.min_p.value_or(0.0);
  p.repetition_penalty = o.repeat_penalty;
  p.seed = o.seed ? *o.seed : std::random_device{}();
  DV_RETURN_IF_ERROR(p.Validate(info.n_vocab));
  return p;
}

// Samples up to `max_tokens` tokens after the prompt already in `seq` (its logits are output 0).
// `emit` receives text as it becomes final (stop strings held back, UTF-8 never split).
Result<Generation> Generate(engine::Engine& e, engine::SequenceId seq, std::vector<int32_t> history,
                            sampling::Sampler& sampler, const RunOptions& o,
                            const std::function<void(std::string_view)>& emit) {
  Generation g;
  tok::StreamingDetokenizer detok(*e.tokenizer());
  sampling::StopMatcher stops(o.stops);
  const auto& eos = e.info().eos_ids;
  for (int i = 0; o.n_predict < 0 || i < o.n_predict; ++i) {
    const std::span<const float> logits = e.Logits(0);
    if (o.logprobs > 0) g.logprobs.push_back(sampling::TopLogprobs(logits, o.logprobs));
    const int32_t token = sampler.Sample(logits, history);
    g.ids.push_back(token);
    history.push_back(token);
    if (std::find(eos.begin(), eos.end(), token) != eos.end()) {
      g.hit_eos = true;
      break;
    }
    DV_ASSIGN_OR_RETURN(std::string piece, detok.Feed(token));
    auto out = stops.Feed(piece);
    g.text += out.text;
    emit(out.text);
    if (out.stopped) return g;
    DV_ASSIGN_OR_RETURN(int length, e.SequenceLength(seq));
    if (length >= e.info().n_ctx) break;  // context full: stop like an EOS
    if (o.n_predict >= 0 && i + 1 == o.n_predict) break;
    DV_RETURN_IF_ERROR(e.Decode(std::vector<engine::BatchItem>{{seq, token, true}}));
  }
  std::string rest = detok.Finish();
  auto out = stops.Feed(rest);
  if (!out.stopped) out.text += stops.Flush();
  g.text += out.text;
  emit(out.text);
  return g;
}

Status RunPrompt(const RunOptions& o, engine::Engine& e) {
  DV_ASSIGN_OR_RETURN(sampling::SamplingParams params, MakeParams(o, e.info()));
  DV_ASSIGN_OR_RETURN(sampling::Sampler sampler, sampling::Sampler::Create(params, e.info().n_vocab));
  DV_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, e.Tokenize(o.prompt, e.info().add_bos));
  if (prompt.empty()) return InvalidArgument("the prompt is empty and the model adds no BOS token");
  if (prompt.size() >= static_cast<size_t>(e.info().n_ctx)) {
    return InvalidArgument("prompt of " + std::to_string(prompt.size()) + " tokens does not fit the context of " +
                           std::to_string(e.info().n_ctx) + " tokens (use -c)");
  }
  DV_ASSIGN_OR_RETURN(engine::SequenceId seq, e.CreateSequence());
  DV_RETURN_IF_ERROR(e.Prefill(seq, prompt));
  auto emit = [&](std::string_view text) {
    if (o.json || text.empty()) return;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  DV_ASSIGN_OR_RETURN(Generation g, Generate(e, seq, prompt, sampler, o, emit));
  if (!o.json) {
    std::fputc('\n', stdout);
    return Status::Ok();
  }
  nlohmann::json j;
  j["prompt_ids"] = prompt;
  j["generated_ids"] = g.ids;
  j["text"] = g.text;
  if (o.logprobs > 0) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& step : g.logprobs) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& lp : step) list.push_back({{"id", lp.id}, {"logprob", lp.logprob}});
      all.push_back(std::move(list));
    }
    j["logprobs"] = std::move(all);
  }
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return Status::Ok();
}

// Shows R1 reasoning distinctly: text between <think> and </think> is dimmed on a terminal (the
// tags stay visible); otherwise the tags themselves are the plain markers. Tags split across
// streamed pieces are recognised (a possible tag prefix is held back until it is decided).
class ThinkDisplay {
 public:
  ThinkDisplay(bool tty, bool thinking) : tty_(tty), thinking_(thinking) {}

  // Text to print at the start of a reply that the prompt already opened with <think>.
  std::string Start() const { return thinking_ ? Open() + "\n" : ""; }

  std::string Feed(std::string_view text) {
    pending_ += text;
    std::string out;
    while (true) {
      const std::string_view tag = thinking_ ? "</think>" : "<think>";
      const size_t at = pending_.find(tag);
      if (at == std::string::npos) break;
      out += pending_.substr(0, at);
      out += thinking_ ? Close() : Open();
      thinking_ = !thinking_;
      pending_.erase(0, at + tag.size());
    }
    // Hold back the longest suffix that could begin the next tag.
    const std::string_view tag = thinking_ ? "</think>" : "<think>";
    size_t keep = std::min(pending_.size(), tag.size() - 1);
    while (keep > 0 && pending_.compare(pending_.size() - keep, keep, tag.substr(0, keep)) != 0) --keep;
    out += pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }

  // The held-back text, and the terminal's normal style restored.
  std::string Finish() {
    std::string out = std::move(pending_);
    pending_.clear();
    if (tty_ && thinking_) out += kReset;
    return out;
  }

 private:
  static constexpr const char* kDim = "\x1b[2m";
  static constexpr const char* kReset = "\x1b[0m";
  std::string Open() const { return tty_ ? std::string(kDim) + "<think>" : "<think>"; }
  std::string Close() const { return tty_ ? std::string("</think>") + kReset : "</think>"; }

  bool tty_, thinking_;
  std::string pending_;
};

// Interactive chat: each stdin line is a user message ("/exit" or end of input ends the chat,
// empty lines are skipped); the conversation is re-rendered with the model's template and only
// the tokens after the common prefix with what the KV cache holds are fed. With --json, one
// object per turn instead of text: {"turn", "prompt_ids" (the whole rendered conversation),
// "reused" (positions kept from the cache), "generated_ids", "text"}.
Status RunChat(const RunOptions& o, engine::Engine& e) {
  const engine::ModelInfo& info = e.info();
  if (info.chat_template.empty()) return FailedPrecondition("the model has no chat template");
  DV_ASSIGN_OR_RETURN(chat::ChatTemplate tmpl, chat::ChatTemplate::Compile(info.chat_template));
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  const tok::Tokenizer& tk = *e.tokenizer();
  if (info.bos_id >= 0) special["bos_token"] = std::string(tk.TokenText(info.bos_id));
  if (!info.eos_ids.empty()) special["eos_token"] = std::string(tk.TokenText(info.eos_ids.front()));
  DV_RETURN_IF_ERROR(tmpl.SetSpecialTokens(special));
  DV_ASSIGN_OR_RETURN(sampling::SamplingParams params, MakeParams(o, info));
  DV_ASSIGN_OR_RETURN(sampling::Sampler sampler, sampling::Sampler::Create(params, info.n_vocab));
  DV_ASSIGN_OR_RETURN(engine::SequenceId seq, e.CreateSequence());
  const bool tty = !o.json && isatty(STDOUT_FILENO);
  const bool interactive = isatty(STDIN_FILENO);
  std::vector<chat::ChatMessage> messages;
  std::vector<int32_t> fed;  // what the KV cache holds
  std::string line;
  if (interactive) {
    std::fprintf(stderr, "chat with %s (%s); /exit or Ctrl-D ends\n", info.name.c_str(), info.arch.c_str());
  }
  for (int turn = 1;; ++turn) {
    if (interactive) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/exit") break;
    if (line.empty()) {
      --turn;
      continue;
    }
    messages.push_back({.role = "user", .content = line});
    // Message texts are untrusted: special-token text typed by the user (or written by the model)
    // stays plain text; only the template's own control tokens become control tokens.
    tok::SpecialTextGuard guard(tk);
    std::vector<chat::ChatMessage> guarded = messages;
    for (chat::ChatMessage& m : guarded) m.content = guard.Protect(m.content.get<std::string>());
    DV_ASSIGN_OR_RETURN(const std::string rendered, tmpl.Render(guarded, /*add_generation_prompt=*/true));
    const std::string text = guard.Restore(rendered);
    DV_ASSIGN_OR_RETURN(std::vector<int32_t> ids, guard.Encode(rendered));
    // BOS as llama.cpp adds it: when the model asks for it and the template did not write it.
    if (info.add_bos && info.bos_id >= 0 && (ids.empty() || ids.front() != info.bos_id)) {
      ids.insert(ids.begin(), info.bos_id);
    }
    if (ids.size() >= static_cast<size_t>(info.n_ctx)) {
      return ResourceExhausted("the conversation (" + std::to_string(ids.size()) +
                               " tokens) no longer fits the context of " + std::to_string(info.n_ctx) +
                               " tokens (use -c)");
    }
    size_t common = 0;
    while (common < fed.size() && common < ids.size() && fed[common] == ids[common]) ++common;
    if (common == ids.size()) --common;  // re-feed the last token to get fresh logits
    DV_RETURN_IF_ERROR(e.TruncateSequence(seq, static_cast<int>(common)));
    DV_RETURN_IF_ERROR(e.Prefill(seq, std::span(ids).subspan(common)));
    const bool opened = text.size() >= 8 && text.compare(text.size() - 8, 8, "<think>\n") == 0;
    ThinkDisplay display(tty, opened);
    auto print = [&](const std::string& s) {
      if (o.json || s.empty()) return;
      std::fwrite(s.data(), 1, s.size(), stdout);
      std::fflush(stdout);
    };
    print(display.Start());
    DV_ASSIGN_OR_RETURN(Generation g, Generate(e, seq, ids, sampler, o, [&](std::string_view piece) {
      print(display.Feed(piece));
    }));
    print(display.Finish() + "\n");
    if (o.json) {
      nlohmann::json j = {{"turn", turn}, {"prompt_ids", ids}, {"reused", common}, {"generated_ids", g.ids},
                          {"text", g.text}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      std::fflush(stdout);
    }
    fed = ids;
    // Generate feeds back every sampled token but the last.
    fed.insert(fed.end(), g.ids.begin(), g.ids.end());
    if (!g.ids.empty()) fed.pop_back();
    messages.push_back({.role = "assistant", .content = g.text});
  }
  return Status::Ok();
}

}  // namespace

void RegisterRun(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<RunOptions>();
  auto temp = std::make_shared<double>(), top_p = std::make_shared<double>(), min_p = std::make_shared<double>();
  auto top_k = std::make_shared<int>();
  auto seed = std::make_shared<uint64_t>();
  auto* cmd = app.add_subcommand("run", "Generate text with a local model (GGUF file or HF folder)");
  cmd->add_option("-m,--model", o->model, "Model: .gguf file or Hugging Face folder")->required();
  auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "Prompt text (used as is, BOS added if the model asks)");
  auto* chat = cmd->add_flag("--chat", o->chat, "Interactive chat with the model's chat template");
  prompt->excludes(chat);
  cmd->add_option("-n,--n-predict", o->n_predict, "Maximum tokens to generate (-1: until EOS or context end)")
      ->check(CLI::Range(-1, 1 << 24));
  auto* t = cmd->add_option("--temp", *temp, "Temperature (0: greedy; default from the model, else 0.6)");
  auto* tp = cmd->add_option("--top-p", *top_p, "Nucleus sampling threshold (default from the model, else 0.95)");
  auto* mp = cmd->add_option("--min-p", *min_p, "Drop tokens below min-p x the best probability");
  auto* tk = cmd->add_option("--top-k", *top_k, "Keep the k most likely tokens (0: off)");
  auto* sd = cmd->add_option("--seed", *seed, "Random seed (default: random)");
  cmd->add_option("--repeat-penalty", o->repeat_penalty, "Repetition penalty (1: off)");
  cmd->add_option("--logprobs", o->logprobs, "With --json: top-K log-probabilities per generated token")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--stop", o->stops, "Stop string (repeatable); never printed");
  cmd->add_flag("--json", o->json, "Print one JSON object instead of streaming text");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)")->check(CLI::Range(0, 256));
  cmd->add_option("-c,--ctx-size", o->ctx, "Context size (default: min(model's, 4096))")->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--cache-type", o->cache_type, "KV cache type: f16 (default), q8_0 (half the memory) or f32")
      ->check(CLI::IsMember({"f16", "q8_0", "f32"}));
  cmd->add_flag("--mmap", o->mmap, "Map the model file instead of copying the weights into 2 MiB huge pages");
  cmd->callback([&ctx, o, temp, top_p, min_p, top_k, seed, t, tp, mp, tk, sd, prompt] {
    if (t->count()) o->temp = *temp;
    if (tp->count()) o->top_p = *top_p;
    if (mp->count()) o->min_p = *min_p;
    if (tk->count()) o->top_k = *top_k;
    if (sd->count()) o->seed = *seed;
    if (!o->chat && !prompt->count()) {
      ctx.exit_code = ReportError(InvalidArgument("run needs -p PROMPT or --chat"));
      return;
    }
    auto e = engine::Engine::Load(
        o->model, {.n_threads = o->threads,
                   .n_ctx = o->ctx,
                   .kv_type = CacheType(o->cache_type),
                   .weight_memory = o->mmap ? engine::WeightMemory::kFileMapping : engine::WeightMemory::kHugePages});
    if (!e.ok()) {
      ctx.exit_code = ReportError(e.status());
      return;
    }
    if ((*e)->tokenizer() == nullptr) {
      ctx.exit_code = ReportError((*e)->Tokenize("", false).status());
      return;
    }
    Status s = o->chat ? RunChat(*o, **e) : RunPrompt(*o, **e);
    ctx.exit_code = s.ok() ? 0 : ReportError(s);
  });
}

}  // namespace dv::cli
