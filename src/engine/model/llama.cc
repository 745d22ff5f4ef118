// Llama (and DeepSeek-R1-Distill-Llama): no attention biases, no q/k norm, head_dim = n_embd /
// n_head. llama.cpp's converter permutes the q/k rows of HF checkpoints so that GGUF llama
// models rotate adjacent pairs; Llama 3.x context extension comes as the rope_freqs tensor.
#include "engine/model/arch.h"

namespace dv::model {

const ArchDescriptor& LlamaArch() {
  static constexpr ArchDescriptor kLlama{
      .gguf_name = "llama",
      .hf_class = "LlamaForCausalLM",
      .gguf_rope_style = RopeStyle::kNormal,
      .qkv_bias = false,
      .qk_norm = false,
      .head_dim_explicit = false,
  };
  return kLlama;
}

}  // namespace dv::model
