// One model ready to serve: weights, tokenizer, chat template, KV cache and forward pass.
//
// Opened from a GGUF file or an HF checkpoint folder. The tokenizer comes from the same file
// (GGUF) or the folder's tokenizer.json; the chat template from `tokenizer.chat_template` (GGUF)
// or tokenizer_config.json, else a plain ChatML template (ModelInfo::builtin_template says so).
//
// The KV cache holds `n_slots` sequences of `n_ctx` positions; Load fails with
// ResourceExhausted when that would exceed `kv_budget_bytes`.
//
// Thread safety: the tokenizer, template and info are immutable and shared freely; the
// transformer and cache are used only by the model's Scheduler thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "engine/chat/chat_template.h"
#include "engine/model/source.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/runtime/kv_cache.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::server {

struct LoadOptions {
  int n_ctx = 4096;         // per sequence; capped at the model's training context
  int n_slots = 8;          // concurrent sequences
  int n_threads = 0;        // 0 = hardware threads
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
  const model::ModelConfig& config() const { return source_->config(); }
  // Tokens that end generation (EOS and the template's end-of-turn tokens).
  const std::vector<tok::TokenId>& stop_tokens() const { return stop_tokens_; }
  bool IsStopToken(tok::TokenId id) const;
  // BOS to prepend to a raw prompt, if the tokenizer wants one.
  std::optional<tok::TokenId> bos() const { return bos_; }

  // Renders `messages` (OpenAI-style message objects) with the template and tokenizes the prompt
  // (special tokens in the rendered template allowed; the user text was validated as text).
  Result<std::vector<tok::TokenId>> EncodeChat(const nlohmann::ordered_json& messages,
                                               const nlohmann::ordered_json& template_kwargs,
                                               std::string* rendered) const;
  // Tokenizes a plain prompt, adding BOS when the model uses one. Special tokens are text.
  Result<std::vector<tok::TokenId>> EncodePrompt(std::string_view prompt) const;

  // For the Scheduler thread only.
  model::Transformer& transformer() { return *transformer_; }
  runtime::KvCache& cache() { return *cache_; }

 private:
  LoadedModel() = default;

  std::unique_ptr<model::ModelSource> source_;
  model::ModelWeights weights_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  std::optional<chat::ChatTemplate> template_;
  std::unique_ptr<runtime::KvCache> cache_;
  std::unique_ptr<model::Transformer> transformer_;
  std::vector<tok::TokenId> stop_tokens_;
  std::optional<tok::TokenId> bos_;
  ModelInfo info_;
};

}  // namespace dv::server
