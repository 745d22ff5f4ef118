// Text generation for the four generation routes: prompt preparation on the work pool, tokens
// from the scheduler thread turned into OpenAI SSE chunks / Ollama NDJSON lines or one JSON body.
#include <atomic>
#include <mutex>
#include <random>

#include "server/routes.h"
#include "server/text_assembler.h"
#include "server/tool_calls.h"

namespace dv::server {
namespace {

using OJson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

uint64_t FreshSeed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::string RandomId(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += kAlnum[rng() % 62];
  return id;
}

OJson TokenBytesJson(std::string_view bytes) {
  OJson arr = OJson::array();
  for (unsigned char c : bytes) arr.push_back(static_cast<int>(c));
  return arr;
}

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kLength: return "length";
    case FinishReason::kStop: return "stop";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kDeadline: return "deadline";
    case FinishReason::kError: return "error";
  }
  return "stop";
}

int64_t Nanos(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

// Hermes-style templates (Qwen) print tool-call arguments with `tojson`: give them the object
// OpenAI clients send as a JSON string.
OJson ArgumentsAsObjects(OJson messages) {
  for (auto& m : messages) {
    if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
    for (auto& call : m["tool_calls"]) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
      auto& fn = call["function"];
      if (fn.contains("arguments") && fn["arguments"].is_string()) {
        auto parsed = OJson::parse(fn["arguments"].get<std::string>(), nullptr, false);
        if (parsed.is_object()) fn["arguments"] = std::move(parsed);
      }
    }
  }
  return messages;
}

// The documents a constrained request may produce: response_format's schema, or a required or
// named tool call in the model's format. Empty: unconstrained. Hermes: one JSON value
// {"name","arguments"} (an anyOf over the tools) in <tool_call> tags. DeepSeek: the name sits in
// the text before the JSON, so each allowed tool is a branch of its own (wrapper naming it, JSON
// of its parameters).
Result<std::vector<grammar::MatcherBranch>> ConstrainedForms(const GenerationRequest& req, ToolFormat format) {
  std::vector<grammar::MatcherBranch> forms;
  if (req.json_schema) forms.push_back({req.json_schema, {}});
  if (!req.tool_call_schema) return forms;
  if (format == ToolFormat::kHermes) {
    ToolCallWrapper w = WrapperFor(format, "");
    forms.push_back({req.tool_call_schema, {std::move(w.prefix), std::move(w.suffix)}});
    return forms;
  }
  for (size_t i = 0; i < req.tools.size(); ++i) {
    const OJson& fn = req.tools[i]["function"];  // validated by the request parser
    const std::string name = fn.value("name", "");
    if (req.tool_choice == ToolChoice::kNamed && name != req.tool_name) continue;
    const auto params = fn.find("parameters");
    const nlohmann::json schema = params != fn.end() && !params->is_null() ? nlohmann::json::parse(params->dump())
                                                                          : nlohmann::json{{"type", "object"}};
    auto compiled = grammar::JsonSchema::Compile(schema);
    if (!compiled.ok()) {
      return InvalidArgument("tools[" + std::to_string(i) + "].function.parameters: " + compiled.status().message());
    }
    ToolCallWrapper w = WrapperFor(format, name);
    forms.push_back({std::move(compiled).value(), {std::move(w.prefix), std::move(w.suffix)}});
  }
  if (forms.size() > static_cast<size_t>(grammar::kMaxAlternatives)) {
    return InvalidArgument("tool_choice \"required\" can constrain at most " + std::to_string(grammar::kMaxAlternatives) +
                           " tools in this model's (DeepSeek) tool-call format, and " + std::to_string(forms.size()) +
                           " were declared; name one with tool_choice {\"type\": \"function\", \"function\": {\"name\": ...}}");
  }
  return forms;
}

// One generation request with its choices. Callbacks of all its jobs arrive on the single
// scheduler thread of one model; the mutex orders them with the work thread's start-up.
class GenerationSession : public std::enable_shared_from_this<GenerationSession> {
 public:
  GenerationSession(const RouteEnv& env, Dialect dialect, GenerationRequest req, std::shared_ptr<Responder> r)
      : env_(env), dialect_(dialect), req_(std::move(req)), responder_(std::move(r)) {
    id_ = RandomId(req_.chat ? "chatcmpl-" : "cmpl-");
    created_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                   .count();
    start_ = Clock::now();
  }

  // On the work pool.
  void Run() {
    auto acquired = env_.registry->Acquire(req_.model);
    if (!acquired.ok()) {
      if (env_.on_model_unavailable && env_.on_model_unavailable(acquired.status())) return;
      return Fail(acquired.status());
    }
    scheduler_ = std::move(acquired).value();
    load_s_ = std::chrono::duration<double>(Clock::now() - start_).count();
    const LoadedModel& model = scheduler_->model();

    if (dialect_ == Dialect::kOllama && req_.chat && req_.messages.empty()) return LoadOnly(model);
    if (dialect_ == Dialect::kOllama && !req_.chat && req_.prompts.empty() && req_.prompt_tokens.empty()) {
      return LoadOnly(model);
    }

    // Prompts, one per distinct input; each yields n choices.
    std::vector<std::vector<int32_t>> prompts;
    std::vector<std::string> prompt_texts;
    bool starts_in_reasoning = false;
    const ToolFormat tool_format = DetectToolFormat(model.chat_template().source());
    if (req_.chat) {
      std::string rendered;
      const OJson messages = tool_format == ToolFormat::kHermes ? ArgumentsAsObjects(req_.messages) : req_.messages;
      auto ids = model.EncodeChat(messages, req_.tools, req_.template_kwargs, &rendered);
      if (!ids.ok()) return Fail(std::move(ids).error().AddContext("applying the chat template"));
      starts_in_reasoning = PromptOpensThink(rendered);
      prompts.push_back(std::move(ids).value());
    } else if (dialect_ == Dialect::kOllama && !req_.raw) {
      OJson messages = OJson::array();
      if (!req_.system.empty()) messages.push_back({{"role", "system"}, {"content", req_.system}});
      messages.push_back({{"role", "user"}, {"content", req_.prompts.empty() ? "" : req_.prompts[0]}});
      std::string rendered;
      auto ids = model.EncodeChat(messages, OJson(), req_.template_kwargs, &rendered);
      if (!ids.ok()) return Fail(std::move(ids).error().AddContext("applying the chat template"));
      starts_in_reasoning = PromptOpensThink(rendered);
      std::vector<int32_t> all = req_.prompt_tokens.empty() ? std::vector<int32_t>() : req_.prompt_tokens[0];
      all.insert(all.end(), ids->begin(), ids->end());
      prompts.push_back(std::move(all));
    } else {
      for (const auto& text : req_.prompts) {
        auto ids = model.EncodePrompt(text);
        if (!ids.ok()) return Fail(ids.status());
        prompts.push_back(std::move(ids).value());
        prompt_texts.push_back(text);
      }
      for (const auto& ids : req_.prompt_tokens) {
        for (int32_t t : ids) {
          if (!model.tokenizer().IsValidId(t)) {
            return Fail(InvalidArgument("prompt token id " + std::to_string(t) + " is outside the vocabulary"));
          }
        }
        prompts.push_back(ids);
        auto text = model.tokenizer().Decode(ids);
        prompt_texts.push_back(text.ok() ? *text : "");
      }
    }
    const bool split = model.info().reasoning || starts_in_reasoning;
    const int n_ctx = model.info().n_ctx;
    for (const auto& p : prompts) {
      const int64_t room = n_ctx - static_cast<int64_t>(p.size());
      if (room < 1 || (req_.max_tokens > 0 && req_.max_tokens > room && dialect_ == Dialect::kOpenAi)) {
        return Fail(InvalidArgument(
            "this model's maximum context length is " + std::to_string(n_ctx) + " tokens; the prompt has " +
            std::to_string(p.size()) + " tokens" +
            (req_.max_tokens > 0 ? " and " + std::to_string(req_.max_tokens) + " were requested for the completion"
                                 : std::string())));
      }
    }

    // Constrained decoding: response_format, or a required/named tool call in the model's format.
    auto forms = ConstrainedForms(req_, tool_format);
    if (!forms.ok()) return Fail(forms.status());
    if (!forms->empty()) (void)model.token_trie();  // built once per model, here rather than on the scheduler thread
    const bool tools = req_.chat && req_.tools.is_array();
    const auto deadline = Clock::now() + req_.timeout.value_or(env_.default_timeout);
    {
      std::lock_guard lock(mu_);
      for (size_t p = 0; p < prompts.size(); ++p) {
        for (int j = 0; j < req_.n; ++j) {
          auto c = std::make_unique<Choice>(model.tokenizer(), req_.stop, split, starts_in_reasoning, tools);
          c->prompt_len = static_cast<int>(prompts[p].size());
          if (req_.echo && p < prompt_texts.size()) c->content = prompt_texts[p];
          choices_.push_back(std::move(c));
        }
      }
      remaining_ = static_cast<int>(choices_.size());
    }
    size_t index = 0;
    for (size_t p = 0; p < prompts.size(); ++p) {
      for (int j = 0; j < req_.n; ++j, ++index) {
        GenerateJob job;
        job.prompt = prompts[p];
        const int64_t room = n_ctx - static_cast<int64_t>(prompts[p].size());
        job.max_new_tokens = static_cast<int>(req_.max_tokens > 0 ? std::min(req_.max_tokens, room) : room);
        job.sampling = req_.sampling;
        job.sampling.seed = req_.sampling.has_seed ? req_.sampling.seed + static_cast<uint64_t>(j) : FreshSeed();
        if (!forms->empty()) job.grammar.emplace(*forms);
        job.top_logprobs = req_.top_logprobs;
        job.deadline = deadline;
        auto self = shared_from_this();
        job.on_token = [self, index](const TokenEvent& ev) { return self->OnToken(index, ev); };
        job.on_done = [self, index](const JobResult& r) { self->OnDone(index, r); };
        auto id = scheduler_->Submit(std::move(job));
        if (!id.ok()) {
          std::vector<uint64_t> ids;
          {
            std::lock_guard lock(mu_);
            failed_ = true;
            ids = job_ids_;
          }
          for (uint64_t jid : ids) scheduler_->Cancel(jid);
          return Fail(id.status());
        }
        std::lock_guard lock(mu_);
        job_ids_.push_back(*id);
      }
    }
    // Client gone: free every sequence at once.
    std::weak_ptr<GenerationSession> weak = shared_from_this();
    responder_->OnGone([weak] {
      if (auto self = weak.lock()) self->CancelAll();
    });
    if (req_.stream) {
      std::lock_guard lock(mu_);
      HttpResponse head;
      head.content_type = dialect_ == Dialect::kOpenAi ? "text/event-stream" : "application/x-ndjson";
      responder_->StartStream(std::move(head));
      stream_started_ = true;
      for (auto& chunk : pending_) responder_->Write(std::move(chunk));
      pending_.clear();
      if (finished_) responder_->End();
    }
  }

 private:
  struct Choice {
    Choice(const tok::Tokenizer& tok, const std::vector<std::string>& stop, bool split, bool in_reasoning, bool tools)
        : assembler(tok, stop, split, in_reasoning, /*keep_special=*/tools), tools(tools) {}
    TextAssembler assembler;
    bool tools;                    // the request declared tools: watch the content for calls
    ToolCallStream tool_stream;
    std::vector<ToolCall> tool_calls;
    std::string content, reasoning;
    OJson logprobs = OJson::array();  // chat: content entries; completion: built at the end
    std::vector<TokenLogprob> chosen;
    std::vector<std::vector<TokenLogprob>> tops;
    std::vector<std::string> token_texts;
    bool sent_role = false;
    bool stopped_by_text = false;
    int prompt_len = 0;
    JobResult result;
    bool done = false;
  };

  void CancelAll() {
    std::vector<uint64_t> ids;
    {
      std::lock_guard lock(mu_);
      ids = job_ids_;
    }
    for (uint64_t id : ids) scheduler_->Cancel(id);
  }

  void Fail(const Status& status) {
    if (responded_.exchange(true)) return;
    responder_->Send(ErrorResponse(dialect_, status));
  }

  void LoadOnly(const LoadedModel&) {
    if (req_.keep_alive_s && *req_.keep_alive_s == 0) env_.registry->Unload(req_.model).IgnoreError();
    OJson out = {{"model", req_.model}, {"created_at", Rfc3339Now()}};
    if (req_.chat) out["message"] = {{"role", "assistant"}, {"content", ""}};
    else out["response"] = "";
    out["done_reason"] = req_.keep_alive_s && *req_.keep_alive_s == 0 ? "unload" : "load";
    out["done"] = true;
    responded_ = true;
    responder_->Send(HttpResponse::Json(200, DumpJson(out)));
  }

  // Scheduler thread from here on.
  bool OnToken(size_t index, const TokenEvent& ev) {
    std::lock_guard lock(mu_);
    Choice& c = *choices_[index];
    bool stopped = false;
    TextDelta d = c.assembler.Feed(ev.token, &stopped);
    if (ev.has_logprobs) RecordLogprobs(c, ev);
    if (stopped) c.stopped_by_text = true;
    if (c.tools) d.content = c.tool_stream.Feed(d.content);
    if (req_.stream && !d.empty()) EmitDelta(index, d, ev.has_logprobs ? &ev : nullptr);
    else if (req_.stream && ev.has_logprobs && dialect_ == Dialect::kOpenAi) EmitDelta(index, d, &ev);
    c.content += d.content;
    c.reasoning += d.reasoning;
    return !stopped && !responder_->Gone();
  }

  void RecordLogprobs(Choice& c, const TokenEvent& ev) {
    const tok::Tokenizer& tok = scheduler_->model().tokenizer();
    auto entry = [&](const TokenLogprob& lp) {
      std::string_view bytes = tok.TokenBytes(lp.id);
      return OJson{{"token", std::string(bytes)}, {"logprob", lp.logprob}, {"bytes", TokenBytesJson(bytes)}};
    };
    OJson e = entry(ev.chosen);
    OJson top = OJson::array();
    for (const auto& t : ev.top) top.push_back(entry(t));
    e["top_logprobs"] = std::move(top);
    c.logprobs.push_back(std::move(e));
    c.chosen.push_back(ev.chosen);
    c.tops.push_back(ev.top);
    c.token_texts.emplace_back(tok.TokenBytes(ev.token));
  }

  void Emit(std::string chunk) {
    if (!stream_started_) {
      pending_.push_back(std::move(chunk));
    } else {
      responder_->Write(std::move(chunk));
    }
  }

  void EmitDelta(size_t index, const TextDelta& d, const TokenEvent* ev) {
    Choice& c = *choices_[index];
    if (dialect_ == Dialect::kOpenAi) {
      OJson choice = {{"index", index}};
      if (req_.chat) {
        OJson delta = OJson::object();
        if (!c.sent_role) {
          delta["role"] = "assistant";
          c.sent_role = true;
        }
        if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
        if (!d.content.empty() || d.reasoning.empty()) delta["content"] = d.content;
        choice["delta"] = std::move(delta);
        choice["logprobs"] = ev ? OJson{{"content", OJson::array({c.logprobs.back()})}} : OJson();
      } else {
        choice["text"] = d.content;
        choice["logprobs"] = ev ? LegacyLogprobs(c, c.chosen.size() - 1, c.chosen.size(), 0) : OJson();
      }
      choice["finish_reason"] = nullptr;
      Emit(SseChunk(OJson::array({std::move(choice)}), OJson()));
    } else {
      OJson line = {{"model", req_.model}, {"created_at", Rfc3339Now()}};
      if (req_.chat) {
        OJson msg = {{"role", "assistant"}, {"content", d.content}};
        if (!d.reasoning.empty()) msg["thinking"] = d.reasoning;
        line["message"] = std::move(msg);
      } else {
        line["response"] = d.content;
        if (!d.reasoning.empty()) line["thinking"] = d.reasoning;
      }
      line["done"] = false;
      Emit(DumpJson(line) + "\n");
    }
  }

  std::string SseChunk(OJson choices, OJson usage) {
    OJson chunk = {{"id", id_},
                   {"object", req_.chat ? "chat.completion.chunk" : "text_completion"},
                   {"created", created_},
                   {"model", req_.model},
                   {"system_fingerprint", "deepvault"},
                   {"choices", std::move(choices)}};
    if (!usage.is_null()) chunk["usage"] = std::move(usage);
    return "data: " + DumpJson(chunk) + "\n\n";
  }

  // Completions' legacy logprobs object over tokens [begin, end), text offsets from `offset`.
  OJson LegacyLogprobs(const Choice& c, size_t begin, size_t end, size_t offset) const {
    OJson tokens = OJson::array(), lps = OJson::array(), tops = OJson::array(), offsets = OJson::array();
    const tok::Tokenizer& tok = scheduler_->model().tokenizer();
    for (size_t i = begin; i < end; ++i) {
      tokens.push_back(c.token_texts[i]);
      lps.push_back(c.chosen[i].logprob);
      OJson top = OJson::object();
      for (const auto& t : c.tops[i]) top[std::string(tok.TokenBytes(t.id))] = t.logprob;
      tops.push_back(std::move(top));
      offsets.push_back(offset);
      offset += c.token_texts[i].size();
    }
    return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
  }

  void OnDone(size_t index, const JobResult& r) {
    std::unique_lock lock(mu_);
    Choice& c = *choices_[index];
    c.result = r;
    c.done = true;
    TextDelta tail = c.assembler.Finish();
    if (c.tools) {
      tail.content = c.tool_stream.Feed(tail.content);
      tail.content += c.tool_stream.Finish(&c.tool_calls);
    }
    if (req_.stream && !tail.empty() && !failed_) EmitDelta(index, tail, nullptr);
    if (req_.stream && !c.tool_calls.empty() && !failed_) EmitToolCalls(index);
    c.content += tail.content;
    c.reasoning += tail.reasoning;
    RecordMetrics(r);
    if (r.reason == FinishReason::kError || r.reason == FinishReason::kDeadline) {
      if (first_error_.ok()) {
        first_error_ = r.reason == FinishReason::kError
                           ? r.error
                           : DeadlineExceeded("the request did not finish before its deadline");
      }
    }
    if (req_.stream && !failed_ && dialect_ == Dialect::kOpenAi && r.reason != FinishReason::kCancelled &&
        first_error_.ok()) {
      OJson choice = {{"index", index}};
      if (req_.chat) {
        choice["delta"] = OJson::object();
      } else {
        choice["text"] = "";
      }
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = FinishReasonOf(c);
      Emit(SseChunk(OJson::array({std::move(choice)}), OJson()));
    }
    if (--remaining_ > 0) return;
    finished_ = true;
    if (failed_) return;  // a submission failed: the error was already sent
    Complete();
  }

  void RecordMetrics(const JobResult& r) {
    const Labels model = {{"model", req_.model}};
    env_.metrics->Add("deepvault_prompt_tokens_total", model, r.prompt_tokens);
    env_.metrics->Add("deepvault_completion_tokens_total", model, r.completion_tokens);
    env_.metrics->Add("deepvault_prompt_tokens_cached_total", model, r.cached_prompt_tokens);
    if (r.completion_tokens > 0) env_.metrics->Observe("deepvault_time_to_first_token_seconds", model, r.ttft_s);
    if (r.completion_tokens > 1) {
      env_.metrics->Observe("deepvault_time_per_output_token_seconds", model,
                            (r.total_s - r.ttft_s) / (r.completion_tokens - 1));
    }
    env_.metrics->Observe("deepvault_generation_seconds", model, r.total_s);
  }

  OJson Usage() const {
    int prompt = 0, completion = 0, cached = 0;
    for (size_t i = 0; i < choices_.size(); ++i) {
      // Prompt tokens count once per distinct prompt.
      if (i % static_cast<size_t>(req_.n) == 0) {
        prompt += choices_[i]->result.prompt_tokens;
        cached += choices_[i]->result.cached_prompt_tokens;
      }
      completion += choices_[i]->result.completion_tokens;
    }
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion},
            {"prompt_tokens_details", {{"cached_tokens", cached}}}};
  }

  // Called once, on the scheduler thread, when every choice is done (mu_ held).
  void Complete() {
    bool cancelled = false;
    for (const auto& c : choices_) cancelled |= c->result.reason == FinishReason::kCancelled;
    if (req_.stream) {
      if (!first_error_.ok()) {
        if (dialect_ == Dialect::kOpenAi) {
          Emit("data: " + ErrorResponse(dialect_, first_error_).body + "\n\n");
        } else {
          Emit(DumpJson(OJson{{"error", first_error_.message()}}) + "\n");
        }
      } else if (!cancelled) {
        if (dialect_ == Dialect::kOpenAi) {
          if (req_.include_usage) Emit(SseChunk(OJson::array(), Usage()));
          Emit("data: [DONE]\n\n");
        } else {
          Emit(DumpJson(OllamaFinal(*choices_[0], /*with_content=*/false)) + "\n");
        }
      }
      if (stream_started_) responder_->End();
      return;
    }
    if (responded_.exchange(true)) return;
    if (!first_error_.ok()) return responder_->Send(ErrorResponse(dialect_, first_error_));
    if (cancelled) {
      return responder_->Send(ErrorResponse(dialect_, Cancelled("the request was cancelled")));
    }
    if (dialect_ == Dialect::kOllama) {
      return responder_->Send(HttpResponse::Json(200, DumpJson(OllamaFinal(*choices_[0], true))));
    }
    OJson choices = OJson::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
      const Choice& c = *choices_[i];
      OJson choice = {{"index", i}};
      if (req_.chat) {
        OJson msg = {{"role", "assistant"}, {"content", c.content}};
        if (!c.reasoning.empty()) msg["reasoning_content"] = c.reasoning;
        if (!c.tool_calls.empty()) {
          if (c.content.find_first_not_of(" \n\r\t") == std::string::npos) msg["content"] = nullptr;
          msg["tool_calls"] = OpenAiToolCalls(c, /*with_index=*/false);
        }
        choice["message"] = std::move(msg);
        choice["logprobs"] = req_.top_logprobs >= 0 ? OJson{{"content", c.logprobs}} : OJson();
      } else {
        choice["text"] = c.content;
        const size_t echo_len = req_.echo ? c.content.size() - GeneratedBytes(c) : 0;
        choice["logprobs"] = req_.top_logprobs >= 0 ? LegacyLogprobs(c, 0, c.chosen.size(), echo_len) : OJson();
      }
      choice["finish_reason"] = FinishReasonOf(c);
      choices.push_back(std::move(choice));
    }
    OJson body = {{"id", id_},
                  {"object", req_.chat ? "chat.completion" : "text_completion"},
                  {"created", created_},
                  {"model", req_.model},
                  {"system_fingerprint", "deepvault"},
                  {"choices", std::move(choices)},
                  {"usage", Usage()}};
    responder_->Send(HttpResponse::Json(200, DumpJson(body)));
  }

  static size_t GeneratedBytes(const Choice& c) {
    size_t n = 0;
    for (const auto& t : c.token_texts) n += t.size();
    return std::min(n, c.content.size());
  }

  const char* FinishReasonOf(const Choice& c) const {
    if (!c.tool_calls.empty() && c.result.reason == FinishReason::kStop) return "tool_calls";
    return FinishReasonName(c.result.reason);
  }

  // OpenAI message.tool_calls / delta.tool_calls (arguments as JSON text).
  OJson OpenAiToolCalls(const Choice& c, bool with_index) const {
    OJson calls = OJson::array();
    for (size_t i = 0; i < c.tool_calls.size(); ++i) {
      OJson call = {{"id", RandomId("call_")},
                    {"type", "function"},
                    {"function", {{"name", c.tool_calls[i].name}, {"arguments", c.tool_calls[i].arguments}}}};
      if (with_index) call["index"] = i;
      calls.push_back(std::move(call));
    }
    return calls;
  }

  // Streams the parsed tool calls of choice `index`: one chunk, complete calls.
  void EmitToolCalls(size_t index) {
    Choice& c = *choices_[index];
    if (dialect_ == Dialect::kOpenAi) {
      OJson delta = {{"tool_calls", OpenAiToolCalls(c, /*with_index=*/true)}};
      if (!c.sent_role) {
        delta["role"] = "assistant";
        c.sent_role = true;
      }
      OJson choice = {{"index", index}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
      Emit(SseChunk(OJson::array({std::move(choice)}), OJson()));
    } else {
      OJson msg = {{"role", "assistant"}, {"content", ""}, {"tool_calls", OllamaToolCalls(c)}};
      Emit(DumpJson(OJson{{"model", req_.model}, {"created_at", Rfc3339Now()}, {"message", msg}, {"done", false}}) + "\n");
    }
  }

  static OJson OllamaToolCalls(const Choice& c) {
    OJson calls = OJson::array();
    for (const ToolCall& t : c.tool_calls) {
      calls.push_back({{"function", {{"name", t.name}, {"arguments", OJson::parse(t.arguments, nullptr, false)}}}});
    }
    return calls;
  }

  OJson OllamaFinal(const Choice& c, bool with_content) const {
    OJson out = {{"model", req_.model}, {"created_at", Rfc3339Now()}};
    if (req_.chat) {
      OJson msg = {{"role", "assistant"}, {"content", with_content ? c.content : ""}};
      if (with_content && !c.reasoning.empty()) msg["thinking"] = c.reasoning;
      if (with_content && !c.tool_calls.empty()) msg["tool_calls"] = OllamaToolCalls(c);
      out["message"] = std::move(msg);
    } else {
      out["response"] = with_content ? c.content : "";
      if (with_content && !c.reasoning.empty()) out["thinking"] = c.reasoning;
    }
    out["done"] = true;
    out["done_reason"] = FinishReasonName(c.result.reason);  // Ollama reports "stop" for tool calls too
    const double total = std::chrono::duration<double>(Clock::now() - start_).count();
    out["total_duration"] = Nanos(total);
    out["load_duration"] = Nanos(load_s_);
    out["prompt_eval_count"] = c.result.prompt_tokens - c.result.cached_prompt_tokens;
    out["prompt_eval_duration"] = Nanos(std::max(0.0, c.result.ttft_s - c.result.queue_s));
    out["eval_count"] = c.result.completion_tokens;
    out["eval_duration"] = Nanos(std::max(0.0, c.result.total_s - c.result.ttft_s));
    return out;
  }

  RouteEnv env_;
  Dialect dialect_;
  GenerationRequest req_;
  std::shared_ptr<Responder> responder_;
  std::shared_ptr<Scheduler> scheduler_;
  std::string id_;
  int64_t created_ = 0;
  Clock::time_point start_;
  double load_s_ = 0;

  std::mutex mu_;
  std::vector<std::unique_ptr<Choice>> choices_;
  std::vector<uint64_t> job_ids_;
  std::vector<std::string> pending_;  // stream chunks produced before the stream started
  int remaining_ = 0;
  bool stream_started_ = false, finished_ = false, failed_ = false;
  Status first_error_;
  std::atomic<bool> responded_{false};
};

}  // namespace

void HandleGeneration(const RouteEnv& env, Dialect dialect, GenerationRequest request,
                      std::shared_ptr<Responder> responder) {
  auto session = std::make_shared<GenerationSession>(env, dialect, std::move(request), std::move(responder));
  env.work->Submit([session] { session->Run(); });
}

}  // namespace dv::server
