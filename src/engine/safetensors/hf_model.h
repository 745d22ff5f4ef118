// A Hugging Face model folder: config.json plus model.safetensors or shards listed in
// model.safetensors.index.json ({"weight_map": {tensor name: shard file name}}).
//
// HfModelConfig holds the config.json fields a converter needs, validated: positive sizes, head
// counts that divide evenly, finite positive epsilon and RoPE base. Fields absent from the file
// take the defaults of the transformers library's config classes (noted per field).
//
// Ownership: an HfModel owns the mapped shards; TensorView bytes stay valid while it lives.
// Thread safety: const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/safetensors/safetensors.h"

namespace dv::safetensors {

// "rope_scaling" (transformers < 5) or "rope_parameters" (transformers >= 5, which also moves
// rope_theta inside it). A rope_parameters object of type "default" means no scaling.
struct RopeScaling {
  std::string type;                 // "rope_type" (or legacy "type"): "linear", "yarn", "llama3", ...
  double factor = 1.0;
  std::optional<uint64_t> original_max_position_embeddings;
  double low_freq_factor = 1.0;     // llama3 (default 1)
  double high_freq_factor = 4.0;    // llama3 (default 4)
  std::optional<double> beta_fast, beta_slow;  // yarn
  std::optional<double> attention_factor;      // yarn ("attention_factor" or "attn_factor")
  std::string json;                 // the whole object, for fields not modelled here
};

struct HfModelConfig {
  std::vector<std::string> architectures;  // e.g. {"Qwen2ForCausalLM"}
  std::string model_type;                  // e.g. "qwen2"
  uint64_t hidden_size = 0;
  uint64_t num_hidden_layers = 0;
  uint64_t num_attention_heads = 0;
  uint64_t num_key_value_heads = 0;  // default: num_attention_heads
  uint64_t intermediate_size = 0;
  uint64_t vocab_size = 0;
  uint64_t max_position_embeddings = 0;  // default 2048
  uint64_t head_dim = 0;                 // default: hidden_size / num_attention_heads
  bool head_dim_in_file = false;         // "head_dim" was given explicitly
  double rope_theta = 10000.0;           // default 10000
  double rms_norm_eps = 1e-6;            // default 1e-6
  bool tie_word_embeddings = false;      // default false
  std::optional<bool> attention_bias;    // absent: the architecture decides (Qwen2 always has q/k/v bias)
  std::optional<bool> mlp_bias;
  // Special token ids ("bos_token_id", ...); absent when missing or not a single integer.
  std::optional<uint64_t> bos_token_id, eos_token_id, pad_token_id;
  std::optional<RopeScaling> rope_scaling;

  // Parses and validates config.json text.
  static Result<HfModelConfig> Parse(std::string_view json_text);
};

class HfModel {
 public:
  // Opens `dir`/config.json and the weights: model.safetensors.index.json when present, else
  // model.safetensors. Shard file names must be plain names inside `dir`.
  static Result<HfModel> Open(const std::filesystem::path& dir);

  const HfModelConfig& config() const { return config_; }
  // Every tensor of every shard, in shard order.
  std::vector<const TensorView*> tensors() const;
  const TensorView* Find(std::string_view name) const;
  size_t shard_count() const { return shards_.size(); }

 private:
  HfModelConfig config_;
  std::vector<SafetensorsFile> shards_;
};

}  // namespace dv::safetensors
