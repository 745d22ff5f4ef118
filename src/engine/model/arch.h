// What distinguishes the supported architectures. The forward pass (transformer.h) is shared;
// each architecture file (llama.cc, qwen2.cc, qwen3.cc) describes its differences as data.
#pragma once

#include <string_view>

#include "engine/model/config.h"

namespace dv::model {

struct ArchDescriptor {
  std::string_view gguf_name;      // general.architecture
  std::string_view hf_class;       // config.json "architectures"[0]
  RopeStyle gguf_rope_style;       // pairing of GGUF weights (HF weights always use kNeox)
  bool qkv_bias;                   // attn_q/k/v.bias tensors are required
  bool qk_norm;                    // attn_q_norm / attn_k_norm per-head RMSNorm weights required
  bool head_dim_explicit;          // key_length may differ from embedding_length / head_count
};

const ArchDescriptor& LlamaArch();
const ArchDescriptor& Qwen2Arch();
const ArchDescriptor& Qwen3Arch();

// nullptr when the architecture is not supported.
const ArchDescriptor* FindArchByGgufName(std::string_view name);
const ArchDescriptor* FindArchByHfClass(std::string_view hf_class);
// "llama, qwen2, qwen3"
std::string_view SupportedArchList();

}  // namespace dv::model
