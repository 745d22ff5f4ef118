// One model ready to serve: the inference engine (deepvault/engine.h: weights, tokenizer, KV
// cache of one sequence per slot, batched forward pass), the chat template, and the token table
// used for constrained decoding.
//
// Opened from a GGUF file or an HF checkpoint folder. The chat template comes from
// `tokenizer.chat_template` (GGUF) or tokenizer_config.json, else a plain ChatML template
// (ModelInfo::builtin_template says so).
//
// The KV cache holds `n_slots` sequences of `n_ctx` positions; Load fails with
// ResourceExhausted when that would exceed `kv_budget_bytes` (checked before allocating).
//
// Thread safety: the tokenizer, template, info and token trie are immutable and shared freely;
// engine() is used only by the model's Scheduler thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "deepvault/engine.h"
#include "deepvault/status.h"
#include "engine/chat/chat_template.h"
#include "engine/grammar/json_matcher.h"
#include "engine/model/config.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::server {

struct LoadOptions {
  int n_ctx = 4096;         // per sequence; capped at the model's training context
  int n_slots = 8;          // concurrent sequences
  int n_threads = 0;        // 0 = hardware threads
  bool map_weights = false;  // map the file instead of the huge-page copy (engine::WeightMemory)
  uint64_t kv_budget_bytes = uint64_t{8} << 30;
};

struct ModelInfo {
  std::string arch;
  std::string file_name;
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;   // bytes of weights read per token
  uint64_t kv_bytes = 0;
  int64_t n_params = 0;        // approximate
  int n_ctx = 0, n_slots = 0, n_vocab = 0, n_embd = 0;
  std::string quantization;    // e.g. "Q4_K" (type of the largest matrix)
  bool builtin_template = false;
  bool reasoning = false;      // the template opens a <think> block (R1-style)
  bool last_token_pooling = false;  // qwen3 embedding models
};

class LoadedModel {
 public:
  static Result<std::unique_ptr<LoadedModel>> Load(const std::filesystem::path& path, const LoadOptions& options);

  const tok::Tokenizer& tokenizer() const { return *tokenizer_; }
  const chat::ChatTemplate& chat_template() const { return *template_; }
  const ModelInfo& info() const { return info_; }
  const model::ModelConfig& config() const { return config_; }
  // Tokens that end generation (EOS and the template's end-of-turn tokens).
  const std::vector<tok::TokenId>& stop_tokens() const { return stop_tokens_; }
  bool IsStopToken(tok::TokenId id) const;
  // BOS to prepend to a raw prompt, if the tokenizer wants one.
  std::optional<tok::TokenId> bos() const { return bos_; }

  // Renders `messages` (OpenAI-style message objects) with the template and tokenizes the prompt
  // (special tokens in the rendered template allowed; the user text was validated as text).
  // `tools`: the request's tool definitions (array) or null. Special-token text inside messages,
  // tools and kwargs is tokenized as plain text (engine/tokenizer/special_text_guard.h).
  Result<std::vector<tok::TokenId>> EncodeChat(const nlohmann::ordered_json& messages,
                                               const nlohmann::ordered_json& tools,
                                               const nlohmann::ordered_json& template_kwargs,
                                               std::string* rendered) const;
  Result<std::vector<tok::TokenId>> EncodeChat(const nlohmann::ordered_json& messages,
                                               const nlohmann::ordered_json& template_kwargs,
                                               std::string* rendered) const {
    return EncodeChat(messages, nullptr, template_kwargs, rendered);
  }
  // Tokenizes a plain prompt, adding BOS when the model uses one. Special tokens are text.
  Result<std::vector<tok::TokenId>> EncodePrompt(std::string_view prompt) const;

  // Every token's bytes for grammar masks, built on first use (thread-safe).
  const grammar::TokenTrie& token_trie() const;

  // For the Scheduler thread only.
  engine::Engine& engine() { return *engine_; }

 private:
  LoadedModel() = default;

  std::unique_ptr<engine::Engine> engine_;
  const tok::Tokenizer* tokenizer_ = nullptr;  // owned by engine_
  model::ModelConfig config_;
  std::optional<chat::ChatTemplate> template_;
  std::vector<tok::TokenId> stop_tokens_;
  mutable std::once_flag trie_once_;
  mutable std::unique_ptr<grammar::TokenTrie> trie_;
  std::optional<tok::TokenId> bos_;
  ModelInfo info_;
};

}  // namespace dv::server
