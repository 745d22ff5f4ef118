// Names of the tensors of Llama/Qwen2/Qwen3 Hugging Face checkpoints and their GGUF names, as
// llama.cpp's convert_hf_to_gguf.py maps them:
//
//   model.embed_tokens.weight                 token_embd.weight
//   model.norm.weight                         output_norm.weight
//   lm_head.weight                            output.weight
//   model.layers.N.input_layernorm.weight     blk.N.attn_norm.weight
//   model.layers.N.self_attn.{q,k,v}_proj.{weight,bias}   blk.N.attn_{q,k,v}.{weight,bias}
//   model.layers.N.self_attn.o_proj.weight    blk.N.attn_output.weight
//   model.layers.N.self_attn.{q,k}_norm.weight            blk.N.attn_{q,k}_norm.weight
//   model.layers.N.post_attention_layernorm.weight        blk.N.ffn_norm.weight
//   model.layers.N.mlp.{gate,up,down}_proj.weight         blk.N.ffn_{gate,up,down}.weight
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace dv::safetensors {

// The GGUF name of an HF tensor; empty when the name is not one of the above (or its layer index
// is not a plain decimal number below 100000).
std::string GgufTensorName(std::string_view hf_name);

// Buffers some checkpoints carry that hold no weights (model.layers.N.self_attn.rotary_emb.inv_freq):
// a converter skips them.
bool IsNonWeightHfTensor(std::string_view hf_name);

}  // namespace dv::safetensors
