// Qwen3 (and DeepSeek-R1-0528-Qwen3): no biases; RMSNorm over each q and k head (weights of
// head_dim) before RoPE; head_dim is explicit (key_length / config "head_dim") and may differ
// from n_embd / n_head.
#include "engine/model/arch.h"

namespace dv::model {

const ArchDescriptor& Qwen3Arch() {
  static constexpr ArchDescriptor kQwen3{
      .gguf_name = "qwen3",
      .hf_class = "Qwen3ForCausalLM",
      .gguf_rope_style = RopeStyle::kNeox,
      .qkv_bias = false,
      .qk_norm = true,
      .head_dim_explicit = true,
  };
  return kQwen3;
}

}  // namespace dv::model
