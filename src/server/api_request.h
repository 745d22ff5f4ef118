// Typed, validated API requests. Every OpenAI and Ollama body is parsed here into one of these
// structs, or rejected with InvalidArgument whose message starts with the offending field's path
// ("messages[2].role must be ...": ErrorParam extracts it for OpenAI's error.param), or
// Unimplemented for features the server recognises but does not provide.
//
// Thread safety: free functions; no shared state.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "engine/grammar/json_schema.h"
#include "engine/sampling/sampler.h"
#include "server/json_input.h"

namespace dv::server {

inline constexpr int64_t kMaxTokensLimit = 1 << 20;
inline constexpr int kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 20;
inline constexpr size_t kMaxStopStrings = 16;

// A request's sampling settings: the engine's, plus whether the client fixed the seed (otherwise
// each request draws a fresh one).
struct SamplingParams : sampling::SamplingParams {
  bool has_seed = false;
};

enum class ToolChoice { kNone, kAuto, kRequired, kNamed };

// A request to generate text: chat (messages) or completion (prompt).
struct GenerationRequest {
  std::string model;
  bool chat = true;
  nlohmann::ordered_json messages;  // chat: validated array of {role, content: string, ...}
  std::vector<std::string> prompts; // completion: one or more prompts (text)
  std::vector<std::vector<int32_t>> prompt_tokens;  // completion: prompts given as token ids
  bool raw = false;                 // Ollama generate: no template
  std::string system;               // Ollama generate: system prompt
  int64_t max_tokens = -1;          // -1: until the context is full
  int n = 1;
  std::vector<std::string> stop;
  SamplingParams sampling;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  int top_logprobs = -1;            // -1: no logprobs; 0: chosen token only; n: plus top n
  bool echo = false;                // completions
  std::string user;
  std::optional<bool> think;        // Ollama think / chat_template_kwargs.enable_thinking
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  std::optional<std::chrono::milliseconds> timeout;  // per-request deadline
  std::optional<int64_t> keep_alive_s;               // Ollama keep_alive; -1 forever
  bool no_cache = false;
  // response_format json_object / json_schema, Ollama format: the output must match this schema.
  std::shared_ptr<const grammar::JsonSchema> json_schema;
  // Tools (chat): validated OpenAI tool objects ({type:function, function:{name, description,
  // parameters}}), or null. With kRequired/kNamed the output is constrained to a call:
  // tool_call_schema is {"name": <one of the allowed names>, "arguments": <its parameters>}.
  nlohmann::ordered_json tools;
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_name;  // kNamed
  std::shared_ptr<const grammar::JsonSchema> tool_call_schema;
  std::shared_ptr<const grammar::JsonSchema> tool_params_schema;  // kNamed: the function's parameters
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_inputs;
  bool base64 = false;  // encoding_format "base64"
  std::optional<int64_t> dimensions;
  bool truncate = true;  // Ollama: cut inputs to the context instead of failing
};

Result<GenerationRequest> ParseOpenAiChat(const Json& body);
Result<GenerationRequest> ParseOpenAiCompletion(const Json& body);
Result<EmbeddingRequest> ParseOpenAiEmbedding(const Json& body);
Result<GenerationRequest> ParseOllamaChat(const Json& body);
Result<GenerationRequest> ParseOllamaGenerate(const Json& body);
Result<EmbeddingRequest> ParseOllamaEmbed(const Json& body);

// The request field an error is about (OpenAI error.param), e.g. "messages[0].role", or "" when
// the error is not about one field. Reads the leading path of an InvalidArgument/Unimplemented
// message produced by the parsers above.
std::string ErrorParam(const Status& status);

// Ollama durations: a number of seconds, or a Go duration string ("5m", "1h30m", "10s", "-1").
Result<int64_t> ParseKeepAlive(const Json& value);

}  // namespace dv::server
