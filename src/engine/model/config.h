// The hyper-parameters of a decoder-only transformer, independent of the file format it came from.
//
// Filled by a ModelSource (GGUF metadata or an HF config.json) and validated by Validate(), which
// every source calls before handing the config out: after that, all sizes are positive, consistent
// and small enough that products of them cannot overflow.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepvault/status.h"

namespace dv::model {

// How RoPE pairs the dimensions of a head: kNormal rotates (x[2i], x[2i+1]) (GGUF llama: the
// converter permuted the q/k weights into this order); kNeox rotates (x[i], x[i + n_rot/2])
// (HF checkpoints of every architecture, and GGUF qwen2/qwen3).
enum class RopeStyle { kNormal, kNeox };
enum class RopeScaling { kNone, kLinear, kYarn, kLlama3 };

struct RopeConfig {
  RopeStyle style = RopeStyle::kNeox;
  int n_rot = 0;           // rotated dimensions per head (even, <= head_dim)
  double base = 10000.0;   // theta
  RopeScaling scaling = RopeScaling::kNone;
  double factor = 1.0;     // context extension factor (linear, yarn, llama3)
  int64_t original_context = 0;  // pre-training context (yarn, llama3)
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double yarn_beta_fast = 32.0, yarn_beta_slow = 1.0;
  double attn_factor = 0.0;  // yarn: cos/sin multiplier; 0 means the default 1 + 0.1 ln(factor)
  std::vector<float> freq_factors;  // per rotated pair divisor (GGUF rope_freqs), empty if none

  // Per-pair angular frequency (n_rot/2 entries): angle of pair i at position p is p * result[i].
  std::vector<double> InverseFrequencies() const;
  // Multiplier applied to cos and sin (1 except for YaRN).
  double Magnitude() const;
};

struct ModelConfig {
  std::string arch;  // "llama", "qwen2", "qwen3"
  int n_layer = 0;
  int n_embd = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int n_ff = 0;
  int n_vocab = 0;
  int64_t n_ctx_train = 0;
  double rms_eps = 1e-6;
  bool qkv_bias = false;  // qwen2
  bool qk_norm = false;   // qwen3
  bool tied_output = false;  // no separate output matrix: token_embd is used
  RopeConfig rope;

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }

  // Checks ranges and consistency; InvalidArgument naming the first bad field.
  Status Validate() const;
};

}  // namespace dv::model
