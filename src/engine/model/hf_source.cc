// ModelSource over a Hugging Face checkpoint folder: config.json, model.safetensors or the shards
// named by model.safetensors.index.json. Tensor names are mapped to GGUF names; HF stores linear
// weights as [out, in] row-major, which is GGUF's ne = [in, out], so data is used in place.
//
// safetensors: u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data section; offsets are relative to its start.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "engine/gguf/mapped_file.h"
#include "engine/model/source.h"

namespace dv::model {
namespace {

using nlohmann::json;
using quant::TensorType;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr uintmax_t kMaxConfigBytes = 4ull << 20;

Result<json> ReadJsonFile(const std::filesystem::path& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound("cannot read " + path.string() + ": " + ec.message());
  if (size > kMaxConfigBytes) return InvalidArgument(path.string() + " is larger than 4 MiB");
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(path.string() + " is not valid JSON");
  if (!j.is_object()) return InvalidArgument(path.string() + " is not a JSON object");
  return j;
}

// GGUF name for an HF tensor name; empty when the tensor is not used.
std::string GgufName(const std::string& hf, bool tied) {
  static const std::map<std::string, std::string> kTop = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  if (auto it = kTop.find(hf); it != kTop.end()) return tied && it->second == "output.weight" ? "" : it->second;
  static const std::string kLayers = "model.layers.";
  if (hf.rfind(kLayers, 0) != 0) return "";
  const size_t dot = hf.find('.', kLayers.size());
  if (dot == std::string::npos) return "";
  const std::string index = hf.substr(kLayers.size(), dot - kLayers.size());
  if (index.empty() || index.size() > 5 || index.find_first_not_of("0123456789") != std::string::npos) return "";
  static const std::map<std::string, std::string> kLayer = {
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
  auto it = kLayer.find(hf.substr(dot + 1));
  if (it == kLayer.end()) return "";
  return "blk." + std::to_string(std::stoi(index)) + "." + it->second;
}

class HfSource final : public ModelSource {
 public:
  explicit HfSource(std::filesystem::path dir) : dir_(std::move(dir)) {}

  Status Init() {
    DV_ASSIGN_OR_RETURN(json cfg, ReadJsonFile(dir_ / "config.json"));
    DV_RETURN_IF_ERROR(ReadConfig(cfg));
    std::vector<std::string> files;
    const auto index = dir_ / "model.safetensors.index.json";
    std::error_code ec;
    if (std::filesystem::exists(index, ec)) {
      DV_ASSIGN_OR_RETURN(json idx, ReadJsonFile(index));
      if (!idx.contains("weight_map") || !idx["weight_map"].is_object()) {
        return InvalidArgument(index.string() + ": missing \"weight_map\" object");
      }
      std::set<std::string> unique;
      for (const auto& [name, file] : idx["weight_map"].items()) {
        if (!file.is_string()) return InvalidArgument(index.string() + ": weight_map[\"" + name + "\"] is not a string");
        const std::string f = file.get<std::string>();
        if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." || f == "..") {
          return InvalidArgument(index.string() + ": shard name \"" + f + "\" must be a plain file name");
        }
        unique.insert(f);
      }
      files.assign(unique.begin(), unique.end());
    } else {
      files.push_back("model.safetensors");
    }
    for (const std::string& f : files) DV_RETURN_IF_ERROR(ReadSafetensors(dir_ / f));
    // Vocabulary size and tie flag are checked against the tensors by ModelWeights::Load.
    if (config_.tied_output) tensors_.erase("output.weight");
    return config_.Validate();
  }

  const ModelConfig& config() const override { return config_; }
  const ArchDescriptor& arch() const override { return *arch_; }
  const TensorRef* Find(std::string_view name) const override {
    auto it = tensors_.find(std::string(name));
    return it == tensors_.end() ? nullptr : &it->second;
  }
  const gguf::GgufFile* gguf() const override { return nullptr; }
  const std::filesystem::path& path() const override { return dir_; }

 private:
  static Result<int64_t> Int(const json& j, const char* key, const std::string& where) {
    if (!j.contains(key)) return InvalidArgument(where + ": missing \"" + key + "\"");
    const json& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return InvalidArgument(where + ": \"" + key + "\" must be a non-negative integer");
    }
    return v.get<int64_t>();
  }
  static Result<int64_t> IntOr(const json& j, const char* key, int64_t fallback, const std::string& where) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    return Int(j, key, where);
  }
  static Result<double> NumOr(const json& j, const char* key, double fallback, const std::string& where) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) return InvalidArgument(where + ": \"" + key + "\" must be a number");
    return j[key].get<double>();
  }

  Status ReadConfig(const json& cfg) {
    const std::string where = (dir_ / "config.json").string();
    if (!cfg.contains("architectures") || !cfg["architectures"].is_array() || cfg["architectures"].empty() ||
        !cfg["architectures"][0].is_string()) {
      return InvalidArgument(where + ": missing \"architectures\"");
    }
    const std::string cls = cfg["architectures"][0].get<std::string>();
    arch_ = FindArchByHfClass(cls);
    if (arch_ == nullptr) {
      return InvalidArgument(where + ": unsupported architecture " + cls +
                             " (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
    }
    for (const char* flag : {"attention_bias", "mlp_bias"}) {
      if (cfg.contains(flag) && cfg[flag].is_boolean() && cfg[flag].get<bool>() && !arch_->qkv_bias) {
        return InvalidArgument(where + ": \"" + flag + "\": true is not supported for " + cls);
      }
    }
    ModelConfig& c = config_;
    c.arch = std::string(arch_->gguf_name);
    c.qkv_bias = arch_->qkv_bias;
    c.qk_norm = arch_->qk_norm;
    DV_ASSIGN_OR_RETURN(int64_t n_layer, Int(cfg, "num_hidden_layers", where));
    DV_ASSIGN_OR_RETURN(int64_t n_embd, Int(cfg, "hidden_size", where));
    DV_ASSIGN_OR_RETURN(int64_t n_head, Int(cfg, "num_attention_heads", where));
    DV_ASSIGN_OR_RETURN(int64_t n_head_kv, IntOr(cfg, "num_key_value_heads", n_head, where));
    DV_ASSIGN_OR_RETURN(int64_t n_ff, Int(cfg, "intermediate_size", where));
    DV_ASSIGN_OR_RETURN(int64_t n_vocab, Int(cfg, "vocab_size", where));
    DV_ASSIGN_OR_RETURN(int64_t n_ctx, Int(cfg, "max_position_embeddings", where));
    if (n_head == 0) return InvalidArgument(where + ": num_attention_heads is 0");
    DV_ASSIGN_OR_RETURN(int64_t head_dim, IntOr(cfg, "head_dim", n_embd / n_head, where));
    DV_ASSIGN_OR_RETURN(c.rms_eps, NumOr(cfg, "rms_norm_eps", 1e-6, where));
    auto narrow = [](int64_t v) { return static_cast<int>(std::min<int64_t>(v, int64_t{1} << 30)); };
    c.n_layer = narrow(n_layer);
    c.n_embd = narrow(n_embd);
    c.n_head = narrow(n_head);
    c.n_head_kv = narrow(n_head_kv);
    c.head_dim = narrow(head_dim);
    c.n_ff = narrow(n_ff);
    c.n_vocab = narrow(n_vocab);
    c.n_ctx_train = n_ctx;
    c.tied_output = cfg.contains("tie_word_embeddings") && cfg["tie_word_embeddings"].is_boolean() &&
                    cfg["tie_word_embeddings"].get<bool>();

    RopeConfig& r = c.rope;
    r.style = RopeStyle::kNeox;  // HF checkpoints use rotate_half for every architecture
    r.n_rot = c.head_dim;
    // transformers >= 5 writes "rope_parameters" (with rope_theta inside); older "rope_scaling" + "rope_theta".
    json rope = json::object();
    if (cfg.contains("rope_parameters") && cfg["rope_parameters"].is_object()) {
      rope = cfg["rope_parameters"];
    } else if (cfg.contains("rope_scaling") && cfg["rope_scaling"].is_object()) {
      rope = cfg["rope_scaling"];
    }
    DV_ASSIGN_OR_RETURN(double theta_top, NumOr(cfg, "rope_theta", 10000.0, where));
    DV_ASSIGN_OR_RETURN(r.base, NumOr(rope, "rope_theta", theta_top, where));
    std::string type = "default";
    for (const char* key : {"rope_type", "type"}) {
      if (rope.contains(key) && rope[key].is_string()) type = rope[key].get<std::string>();
    }
    DV_ASSIGN_OR_RETURN(r.factor, NumOr(rope, "factor", 1.0, where));
    DV_ASSIGN_OR_RETURN(r.original_context, IntOr(rope, "original_max_position_embeddings", n_ctx, where));
    if (type == "default") {
      r.scaling = RopeScaling::kNone;
    } else if (type == "linear") {
      r.scaling = RopeScaling::kLinear;
    } else if (type == "llama3") {
      r.scaling = RopeScaling::kLlama3;
      DV_ASSIGN_OR_RETURN(r.low_freq_factor, NumOr(rope, "low_freq_factor", 1.0, where));
      DV_ASSIGN_OR_RETURN(r.high_freq_factor, NumOr(rope, "high_freq_factor", 4.0, where));
    } else if (type == "yarn") {
      r.scaling = RopeScaling::kYarn;
      DV_ASSIGN_OR_RETURN(r.yarn_beta_fast, NumOr(rope, "beta_fast", 32.0, where));
      DV_ASSIGN_OR_RETURN(r.yarn_beta_slow, NumOr(rope, "beta_slow", 1.0, where));
      DV_ASSIGN_OR_RETURN(r.attn_factor, NumOr(rope, "attention_factor", 0.0, where));
    } else {
      return InvalidArgument(where + ": unsupported rope type \"" + type + "\" (supported: default, linear, llama3, yarn)");
    }
    return Status::Ok();
  }

  Status ReadSafetensors(const std::filesystem::path& path) {
    DV_ASSIGN_OR_RETURN(std::unique_ptr<gguf::MappedFile> file, gguf::MappedFile::Open(path));
    const std::span<const uint8_t> bytes = file->bytes();
    const std::string where = path.string();
    if (bytes.size() < 8) return InvalidArgument(where + ": too short for a safetensors header");
    uint64_t header_len;
    std::memcpy(&header_len, bytes.data(), 8);
    if (header_len > kMaxHeaderBytes || header_len > bytes.size() - 8) {
      return InvalidArgument(where + ": header length " + std::to_string(header_len) + " exceeds the file");
    }
    const json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_len, nullptr, false);
    if (header.is_discarded() || !header.is_object()) return InvalidArgument(where + ": header is not a JSON object");
    const uint8_t* data = bytes.data() + 8 + header_len;
    const uint64_t data_size = bytes.size() - 8 - header_len;
    for (const auto& [hf_name, info] : header.items()) {
      if (hf_name == "__metadata__") continue;
      const std::string name = GgufName(hf_name, config_.tied_output);
      if (name.empty()) continue;
      const std::string what = where + ": tensor " + hf_name;
      if (!info.is_object() || !info.contains("dtype") || !info["dtype"].is_string() || !info.contains("shape") ||
          !info["shape"].is_array() || !info.contains("data_offsets") || !info["data_offsets"].is_array() ||
          info["data_offsets"].size() != 2) {
        return InvalidArgument(what + ": needs dtype, shape and data_offsets");
      }
      const std::string dtype = info["dtype"].get<std::string>();
      TensorRef ref;
      ref.name = name;
      uint64_t elem_bytes;
      if (dtype == "F32") {
        ref.type = TensorType::kF32, elem_bytes = 4;
      } else if (dtype == "F16") {
        ref.type = TensorType::kF16, elem_bytes = 2;
      } else if (dtype == "BF16") {
        ref.type = TensorType::kBF16, elem_bytes = 2;
      } else {
        return InvalidArgument(what + ": dtype " + dtype + " is not supported (F32, F16, BF16)");
      }
      const json& shape = info["shape"];
      if (shape.empty() || shape.size() > 4) return InvalidArgument(what + ": shape must have 1 to 4 dimensions");
      uint64_t n_elements = 1;
      ref.n_dims = static_cast<uint32_t>(shape.size());
      for (size_t i = 0; i < shape.size(); ++i) {
        const json& d = shape[shape.size() - 1 - i];  // reversed: innermost first
        if (!d.is_number_unsigned() || d.get<uint64_t>() == 0 || d.get<uint64_t>() > (uint64_t{1} << 32)) {
          return InvalidArgument(what + ": bad dimension in shape");
        }
        ref.ne[i] = d.get<uint64_t>();
        if (__builtin_mul_overflow(n_elements, ref.ne[i], &n_elements)) return InvalidArgument(what + ": shape overflows");
      }
      const json& off = info["data_offsets"];
      if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
        return InvalidArgument(what + ": data_offsets must be non-negative integers");
      }
      const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
      uint64_t expected;
      if (begin > end || end > data_size || __builtin_mul_overflow(n_elements, elem_bytes, &expected) ||
          end - begin != expected) {
        return InvalidArgument(what + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                               "] do not match its shape and dtype within the file");
      }
      ref.data = data + begin;
      ref.n_bytes = expected;
      if (tensors_.count(name)) return InvalidArgument(what + ": defined twice");
      tensors_.emplace(name, std::move(ref));
    }
    files_.push_back(std::move(file));
    return Status::Ok();
  }

  std::filesystem::path dir_;
  const ArchDescriptor* arch_ = nullptr;
  ModelConfig config_;
  std::unordered_map<std::string, TensorRef> tensors_;
  std::vector<std::unique_ptr<gguf::MappedFile>> files_;
};

}  // namespace

Result<std::unique_ptr<ModelSource>> OpenHfSource(const std::filesystem::path& dir) {
  auto source = std::make_unique<HfSource>(dir);
  if (Status s = source->Init(); !s.ok()) return std::move(s).AddContext("loading " + dir.string());
  return std::unique_ptr<ModelSource>(std::move(source));
}

}  // namespace dv::model
