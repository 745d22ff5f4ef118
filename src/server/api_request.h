// Typed, validated API requests. Every OpenAI and Ollama body is parsed here into one of these
// structs, or rejected with InvalidArgument naming the field (Unimplemented for features the
// server recognises but does not provide, e.g. response_format json_schema).
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
#include "server/json_input.h"
#include "server/sampler.h"

namespace dv::server {

inline constexpr int64_t kMaxTokensLimit = 1 << 20;
inline constexpr int kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 20;
inline constexpr size_t kMaxStopStrings = 16;

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

// Ollama durations: a number of seconds, or a Go duration string ("5m", "1h30m", "10s", "-1").
Result<int64_t> ParseKeepAlive(const Json& value);

}  // namespace dv::server
