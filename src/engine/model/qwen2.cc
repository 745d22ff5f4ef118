// Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen): biases on the q, k and v projections (not on
// the output projection); NeoX rotation in GGUF as in HF.
#include "engine/model/arch.h"

namespace dv::model {

const ArchDescriptor& Qwen2Arch() {
  static constexpr ArchDescriptor kQwen2{
      .gguf_name = "qwen2",
      .hf_class = "Qwen2ForCausalLM",
      .gguf_rope_style = RopeStyle::kNeox,
      .qkv_bias = true,
      .qk_norm = false,
      .head_dim_explicit = false,
  };
  return kQwen2;
}

}  // namespace dv::model
