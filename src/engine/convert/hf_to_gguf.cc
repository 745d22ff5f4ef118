#include "engine/convert/hf_to_gguf.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <numbers>
#include <set>
#include <tuple>
#include <vector>

#include "engine/convert/hf_vocab.h"
#include "engine/gguf/writer.h"
#include "engine/model/arch.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/quantize.h"
#include "engine/safetensors/hf_model.h"
#include "engine/safetensors/hf_tensor_names.h"

namespace dv::convert {
namespace {

using quant::TensorType;
using safetensors::HfModelConfig;
using safetensors::TensorView;

// One tensor of the output file.
struct Planned {
  std::string name;             // GGUF name
  std::vector<uint64_t> ne;     // GGUF order: ne[0] = row length
  const TensorView* source = nullptr;  // nullptr: `generated` holds F32 data
  std::vector<float> generated;
  uint32_t permute_heads = 0;   // > 0: llama q/k row permutation with this many heads
  TensorType type = TensorType::kF32;
};

TensorType SourceType(safetensors::DType d) {
  switch (d) {
    case safetensors::DType::kF16: return TensorType::kF16;
    case safetensors::DType::kBF16: return TensorType::kBF16;
    case safetensors::DType::kF32: break;
  }
  return TensorType::kF32;
}

std::string ShapeString(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int LayerOf(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int layer = 0;
  size_t i = 4;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) layer = layer * 10 + (name[i] - '0');
  return layer;
}

// The HF shape (outermost first) every tensor of the model must have, by GGUF name.
std::map<std::string, std::vector<uint64_t>> ExpectedShapes(const HfModelConfig& c, const model::ArchDescriptor& arch) {
  const uint64_t H = c.hidden_size, V = c.vocab_size, F = c.intermediate_size, d = c.head_dim;
  const uint64_t q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  std::map<std::string, std::vector<uint64_t>> e = {
      {"token_embd.weight", {V, H}},
      {"output_norm.weight", {H}},
  };
  if (!c.tie_word_embeddings) e["output.weight"] = {V, H};
  for (uint64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    e[b + "attn_norm.weight"] = {H};
    e[b + "attn_q.weight"] = {q, H};
    e[b + "attn_k.weight"] = {kv, H};
    e[b + "attn_v.weight"] = {kv, H};
    e[b + "attn_output.weight"] = {H, q};
    e[b + "ffn_norm.weight"] = {H};
    e[b + "ffn_gate.weight"] = {F, H};
    e[b + "ffn_up.weight"] = {F, H};
    e[b + "ffn_down.weight"] = {H, F};
    if (arch.qkv_bias) {
      e[b + "attn_q.bias"] = {q};
      e[b + "attn_k.bias"] = {kv};
      e[b + "attn_v.bias"] = {kv};
    }
    if (arch.qk_norm) {
      e[b + "attn_q_norm.weight"] = {d};
      e[b + "attn_k_norm.weight"] = {d};
    }
  }
  return e;
}

// llama.cpp's rope_freqs for Llama-3 scaling: per rotated pair, the divisor of its frequency.
std::vector<float> Llama3RopeFactors(const HfModelConfig& c) {
  const safetensors::RopeScaling& s = *c.rope_scaling;
  const double factor = s.factor, low = s.low_freq_factor, high = s.high_freq_factor;
  const double old_context = static_cast<double>(s.original_max_position_embeddings.value_or(8192));
  const double low_wavelen = old_context / low, high_wavelen = old_context / high;
  const uint64_t dim = c.head_dim;
  std::vector<float> factors;
  for (uint64_t i = 0; i < dim; i += 2) {
    const double freq = 1.0 / std::pow(c.rope_theta, static_cast<double>(i) / static_cast<double>(dim));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (old_context / wavelen - low) / (high - low);
      factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return factors;
}

Status CheckU32(const std::string& what, uint64_t v) {
  if (v > UINT32_MAX) return InvalidArgument("config.json: " + what + " " + std::to_string(v) + " does not fit GGUF's u32");
  return Status::Ok();
}

Status AddHyperParameters(const HfModelConfig& c, const std::string& a, const OutputType& type,
                          gguf::GgufWriter& w) {
  for (const auto& [what, v] : {std::pair<const char*, uint64_t>{"max_position_embeddings", c.max_position_embeddings},
                                {"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_hidden_layers},
                                {"intermediate_size", c.intermediate_size}, {"vocab_size", c.vocab_size},
                                {"num_attention_heads", c.num_attention_heads}}) {
    DV_RETURN_IF_ERROR(CheckU32(what, v));
  }
  auto u32 = [](uint64_t v) { return static_cast<uint32_t>(v); };
  DV_RETURN_IF_ERROR(w.AddU32(a + ".block_count", u32(c.num_hidden_layers)));
  DV_RETURN_IF_ERROR(w.AddU32(a + ".context_length", u32(c.max_position_embeddings)));
  DV_RETURN_IF_ERROR(w.AddU32(a + ".embedding_length", u32(c.hidden_size)));
  DV_RETURN_IF_ERROR(w.AddU32(a + ".feed_forward_length", u32(c.intermediate_size)));
  DV_RETURN_IF_ERROR(w.AddU32(a + ".attention.head_count", u32(c.num_attention_heads)));
  DV_RETURN_IF_ERROR(w.AddU32(a + ".attention.head_count_kv", u32(c.num_key_value_heads)));
  DV_RETURN_IF_ERROR(w.AddF32(a + ".rope.freq_base", static_cast<float>(c.rope_theta)));
  DV_RETURN_IF_ERROR(w.AddF32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps)));
  if (c.head_dim_in_file) {
    DV_RETURN_IF_ERROR(CheckU32("head_dim", c.head_dim));
    DV_RETURN_IF_ERROR(w.AddU32(a + ".attention.key_length", u32(c.head_dim)));
    DV_RETURN_IF_ERROR(w.AddU32(a + ".attention.value_length", u32(c.head_dim)));
  }
  DV_RETURN_IF_ERROR(w.AddU32("general.file_type", type.recipe ? gguf::QuantRecipeFileType(*type.recipe) : 0));
  if (a == "llama") {
    DV_RETURN_IF_ERROR(w.AddU32(a + ".vocab_size", u32(c.vocab_size)));
    DV_RETURN_IF_ERROR(CheckU32("head_dim", c.head_dim));
    DV_RETURN_IF_ERROR(w.AddU32(a + ".rope.dimension_count", u32(c.head_dim)));
  }
  if (c.rope_scaling) {
    const safetensors::RopeScaling& s = *c.rope_scaling;
    if (s.type == "linear") {
      DV_RETURN_IF_ERROR(w.AddString(a + ".rope.scaling.type", "linear"));
      DV_RETURN_IF_ERROR(w.AddF32(a + ".rope.scaling.factor", static_cast<float>(s.factor)));
    } else if (s.type == "yarn") {
      DV_RETURN_IF_ERROR(w.AddString(a + ".rope.scaling.type", "yarn"));
      DV_RETURN_IF_ERROR(w.AddF32(a + ".rope.scaling.factor", static_cast<float>(s.factor)));
      if (!s.original_max_position_embeddings) {
        return InvalidArgument("config.json: yarn rope scaling needs original_max_position_embeddings");
      }
      DV_RETURN_IF_ERROR(CheckU32("original_max_position_embeddings", *s.original_max_position_embeddings));
      DV_RETURN_IF_ERROR(w.AddU32(a + ".rope.scaling.original_context_length", u32(*s.original_max_position_embeddings)));
      if (s.attention_factor) {
        DV_RETURN_IF_ERROR(w.AddF32(a + ".rope.scaling.attn_factor", static_cast<float>(*s.attention_factor)));
      }
      if (s.beta_fast) DV_RETURN_IF_ERROR(w.AddF32(a + ".rope.scaling.yarn_beta_fast", static_cast<float>(*s.beta_fast)));
      if (s.beta_slow) DV_RETURN_IF_ERROR(w.AddF32(a + ".rope.scaling.yarn_beta_slow", static_cast<float>(*s.beta_slow)));
    } else if (s.type != "llama3" && s.type != "default") {
      return InvalidArgument("config.json: unsupported rope type \"" + s.type +
                             "\" (supported: default, linear, llama3, yarn)");
    }
  }
  return Status::Ok();
}

// Fills `out` (the tensor in `p.type`) from its source rows.
Status ProduceTensor(const Planned& p, std::span<uint8_t> out, ThreadPool& pool) {
  const uint64_t row_length = p.ne[0];
  uint64_t n_rows = 1;
  for (size_t i = 1; i < p.ne.size(); ++i) n_rows *= p.ne[i];
  DV_ASSIGN_OR_RETURN(const uint64_t out_row_bytes, quant::RowBytes(p.type, row_length));
  const TensorType in_type = p.source ? SourceType(p.source->dtype) : TensorType::kF32;
  const std::span<const uint8_t> in = p.source ? p.source->bytes
                                               : std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.generated.data()),
                                                                          p.generated.size() * sizeof(float));
  DV_ASSIGN_OR_RETURN(const uint64_t in_row_bytes, quant::RowBytes(in_type, row_length));
  const uint64_t head_rows = p.permute_heads ? n_rows / p.permute_heads : 0;
  std::mutex mu;
  Status first_error;
  pool.ParallelFor(static_cast<size_t>(n_rows), [&](size_t begin, size_t end) {
    std::vector<float> row(static_cast<size_t>(row_length));
    for (size_t r = begin; r < end; ++r) {
      uint64_t src = r;
      if (head_rows) {  // GGUF row h*d + 2j + s  <-  HF row h*d + s*d/2 + j
        const uint64_t h = r / head_rows, w = r % head_rows;
        src = h * head_rows + (w % 2) * (head_rows / 2) + w / 2;
      }
      const std::span<uint8_t> dst = out.subspan(r * out_row_bytes, out_row_bytes);
      const std::span<const uint8_t> from = in.subspan(src * in_row_bytes, in_row_bytes);
      Status s;
      if (in_type == p.type) {
        std::copy(from.begin(), from.end(), dst.begin());
      } else {
        s = quant::DequantizeRow(in_type, from, row);
        if (s.ok()) s = quant::QuantizeRow(p.type, row, dst);
      }
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = std::move(s).AddContext("row " + std::to_string(r));
        return;
      }
    }
  });
  return first_error;
}

}  // namespace

Result<OutputType> ParseOutputType(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "f32") return OutputType{};
  auto recipe = gguf::ParseQuantRecipe(lower);
  if (!recipe.ok()) {
    return InvalidArgument("unknown output type \"" + std::string(name) +
                           "\" (use f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k)");
  }
  return OutputType{*recipe};
}

Result<ConvertReport> ConvertHfToGguf(const std::filesystem::path& hf_dir, const std::filesystem::path& output,
                                      const ConvertOptions& options, ThreadPool& pool) {
  DV_ASSIGN_OR_RETURN(const safetensors::HfModel model, safetensors::HfModel::Open(hf_dir));
  const HfModelConfig& c = model.config();
  if (c.architectures.empty()) return InvalidArgument("config.json: missing \"architectures\"");
  const std::string& cls = c.architectures[0];
  const model::ArchDescriptor* arch = model::FindArchByHfClass(cls);
  if (arch == nullptr) {
    return InvalidArgument("config.json: architecture " + cls +
                           " cannot be converted (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
  }
  if (c.attention_bias.value_or(false) && !arch->qkv_bias) {
    return InvalidArgument("config.json: \"attention_bias\": true is not supported for " + cls);
  }
  if (c.mlp_bias.value_or(false)) return InvalidArgument("config.json: \"mlp_bias\": true is not supported");
  if (c.head_dim % 2 != 0) return InvalidArgument("config.json: head_dim " + std::to_string(c.head_dim) + " is odd");
  // Bounds far above any real model, so that shape products cannot overflow and a hostile
  // config.json cannot make the plan itself huge.
  for (const auto& [what, v, limit] : {std::tuple<const char*, uint64_t, uint64_t>{"num_hidden_layers", c.num_hidden_layers, 1u << 12},
                                       {"hidden_size", c.hidden_size, 1u << 20},
                                       {"intermediate_size", c.intermediate_size, 1u << 22},
                                       {"num_attention_heads", c.num_attention_heads, 1u << 12},
                                       {"head_dim", c.head_dim, 1u << 14},
                                       {"vocab_size", c.vocab_size, 1u << 22}}) {
    if (v > limit) {
      return InvalidArgument("config.json: " + std::string(what) + " " + std::to_string(v) + " is larger than " +
                             std::to_string(limit));
    }
  }
  const std::string a(arch->gguf_name);
  const bool is_llama = a == "llama";

  // Plan every tensor: name, shape check, type.
  const std::map<std::string, std::vector<uint64_t>> expected = ExpectedShapes(c, *arch);
  std::map<std::string, Planned> planned;
  for (const TensorView* t : model.tensors()) {
    if (safetensors::IsNonWeightHfTensor(t->name)) continue;
    const std::string name = safetensors::GgufTensorName(t->name);
    if (c.tie_word_embeddings && name == "output.weight") continue;  // tied: token_embd serves as output
    const auto it = expected.find(name);
    if (name.empty() || it == expected.end()) {
      return InvalidArgument("tensor " + t->name + " is not part of a " + cls + " with this config.json");
    }
    if (t->shape != it->second) {
      return InvalidArgument("tensor " + t->name + " has shape " + ShapeString(t->shape) + ", config.json implies " +
                             ShapeString(it->second));
    }
    Planned p;
    p.name = name;
    p.ne.assign(t->shape.rbegin(), t->shape.rend());
    p.source = t;
    if (is_llama && name.ends_with(".attn_q.weight")) p.permute_heads = static_cast<uint32_t>(c.num_attention_heads);
    if (is_llama && name.ends_with(".attn_k.weight")) p.permute_heads = static_cast<uint32_t>(c.num_key_value_heads);
    planned.emplace(name, std::move(p));
  }
  for (const auto& [name, shape] : expected) {
    if (!planned.count(name)) return InvalidArgument("tensor " + name + " (GGUF name) is missing from the checkpoint");
  }
  if (c.rope_scaling && c.rope_scaling->type == "llama3") {
    Planned p;
    p.name = "rope_freqs.weight";
    p.generated = Llama3RopeFactors(c);
    p.ne = {p.generated.size()};
    planned.emplace(p.name, std::move(p));
  }

  // Tokenizer (validated before anything is written).
  VocabOptions vocab_options;
  vocab_options.vocab_size = c.vocab_size;
  vocab_options.config_bos_id = c.bos_token_id;
  vocab_options.config_eos_id = c.eos_token_id;
  vocab_options.config_pad_id = c.pad_token_id;
  vocab_options.pre_override = options.tokenizer_pre;
  DV_ASSIGN_OR_RETURN(const GgufVocab vocab, LoadHfVocab(hf_dir, vocab_options));

  gguf::GgufWriter w(3);
  DV_RETURN_IF_ERROR(w.AddString("general.architecture", a));
  DV_RETURN_IF_ERROR(w.AddString("general.type", "model"));
  std::string name = options.name;
  if (name.empty()) name = std::filesystem::absolute(hf_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::absolute(hf_dir).lexically_normal().parent_path().filename().string();
  DV_RETURN_IF_ERROR(w.AddString("general.name", name));
  DV_RETURN_IF_ERROR(AddHyperParameters(c, a, options.type, w));
  DV_RETURN_IF_ERROR(w.AddU32("general.quantization_version", 2));
  DV_RETURN_IF_ERROR(AddVocabMetadata(vocab, w));

  // Tensors outside blk.N first, then by layer, each group by name (llama-quantize's order).
  std::vector<Planned*> order;
  for (auto& [n, p] : planned) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const Planned* x, const Planned* y) {
    const int lx = LayerOf(x->name), ly = LayerOf(y->name);
    if (lx != ly) return lx < ly;
    return x->name < y->name;
  });
  ConvertReport report;
  report.architecture = a;
  report.tokenizer_pre = vocab.pre;
  report.tokenizer_pre_reason = vocab.pre_reason;
  for (Planned* p : order) {
    gguf::TensorInfo info;  // what the recipe looks at: name and shape
    info.name = p->name;
    info.n_dims = static_cast<uint32_t>(p->ne.size());
    for (size_t i = 0; i < p->ne.size(); ++i) info.ne[i] = p->ne[i];
    p->type = options.type.recipe ? gguf::ChooseTensorType(*options.type.recipe, info, static_cast<uint32_t>(c.num_hidden_layers))
                                  : TensorType::kF32;
    if (p->name == "rope_freqs.weight") p->type = TensorType::kF32;
    ++report.tensors_per_type[p->type];
    uint64_t n = 1;
    for (uint64_t d : p->ne) n *= d;
    if (p->source) report.n_parameters += n;
    const bool same_bytes = p->source && SourceType(p->source->dtype) == p->type && p->permute_heads == 0;
    if (same_bytes) {
      DV_RETURN_IF_ERROR(w.AddTensor(p->name, p->type, p->ne, p->source->bytes));
    } else {
      const Planned* tensor = p;
      DV_RETURN_IF_ERROR(w.AddTensor(p->name, p->type, p->ne, [tensor, &pool](std::span<uint8_t> out) {
        return ProduceTensor(*tensor, out, pool);
      }));
    }
  }
  DV_RETURN_IF_ERROR(w.WriteToFile(output));
  std::error_code ec;
  report.output_bytes = std::filesystem::file_size(output, ec);
  return report;
}

}  // namespace dv::convert
