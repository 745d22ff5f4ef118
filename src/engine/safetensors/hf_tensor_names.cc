#include "engine/safetensors/hf_tensor_names.h"

#include <utility>

namespace dv::safetensors {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

constexpr std::pair<std::string_view, std::string_view> kTopLevel[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

constexpr std::pair<std::string_view, std::string_view> kPerLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

constexpr std::string_view kLayers = "model.layers.";

}  // namespace

std::string GgufTensorName(std::string_view hf) {
  for (const auto& [from, to] : kTopLevel) {
    if (hf == from) return std::string(to);
  }
  if (!StartsWith(hf, kLayers)) return "";
  const size_t dot = hf.find('.', kLayers.size());
  if (dot == std::string_view::npos) return "";
  const std::string_view index = hf.substr(kLayers.size(), dot - kLayers.size());
  if (index.empty() || index.size() > 5 || index.find_first_not_of("0123456789") != std::string_view::npos) return "";
  if (index.size() > 1 && index[0] == '0') return "";  // "01" is not how transformers names layer 1
  const std::string_view rest = hf.substr(dot + 1);
  for (const auto& [from, to] : kPerLayer) {
    if (rest == from) return "blk." + std::string(index) + "." + std::string(to);
  }
  return "";
}

bool IsNonWeightHfTensor(std::string_view hf_name) {
  return StartsWith(hf_name, kLayers) && EndsWith(hf_name, ".rotary_emb.inv_freq");
}

}  // namespace dv::safetensors
