#include "engine/safetensors/hf_model.h"

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace dv::safetensors {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxConfigBytes = 16ull << 20;
constexpr uint64_t kMaxIndexBytes = 64ull << 20;

Result<std::string> ReadSmallFile(const std::filesystem::path& path, uint64_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(path.string() + ": " + ec.message());
  if (size > max_bytes) return InvalidArgument(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A positive integer field; `fallback` (0 = required) when absent.
Result<uint64_t> PositiveInt(const json& doc, const char* key, uint64_t fallback) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    if (fallback == 0) return InvalidArgument(std::string("config.json: missing \"") + key + "\"");
    return fallback;
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
    return InvalidArgument(std::string("config.json: \"") + key + "\" must be a positive integer");
  }
  return it->get<uint64_t>();
}

Result<double> PositiveFloat(const json& doc, const char* key, double fallback) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return fallback;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0) {
    return InvalidArgument(std::string("config.json: \"") + key + "\" must be a positive number");
  }
  return it->get<double>();
}

Result<std::optional<bool>> OptionalBool(const json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return InvalidArgument(std::string("config.json: \"") + key + "\" must be true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<RopeScaling> ParseRopeScaling(const json& j) {
  if (!j.is_object()) return InvalidArgument("config.json: \"rope_scaling\" must be an object or null");
  RopeScaling r;
  r.json = j.dump();
  for (const char* key : {"rope_type", "type"}) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_string()) {
      r.type = it->get<std::string>();
      break;
    }
  }
  if (r.type.empty()) return InvalidArgument("config.json: \"rope_scaling\" has no \"rope_type\"");
  DV_ASSIGN_OR_RETURN(r.factor, PositiveFloat(j, "factor", 1.0));
  if (j.contains("original_max_position_embeddings") && !j["original_max_position_embeddings"].is_null()) {
    DV_ASSIGN_OR_RETURN(const uint64_t n, PositiveInt(j, "original_max_position_embeddings", 0));
    r.original_max_position_embeddings = n;
  }
  DV_ASSIGN_OR_RETURN(r.low_freq_factor, PositiveFloat(j, "low_freq_factor", 1.0));
  DV_ASSIGN_OR_RETURN(r.high_freq_factor, PositiveFloat(j, "high_freq_factor", 4.0));
  if (r.type == "llama3" && !(r.high_freq_factor > r.low_freq_factor)) {
    return InvalidArgument("config.json: llama3 rope scaling needs high_freq_factor > low_freq_factor");
  }
  auto optional_positive = [&j](const char* key, std::optional<double>& out) -> Status {
    if (!j.contains(key) || j[key].is_null()) return Status::Ok();
    DV_ASSIGN_OR_RETURN(const double v, PositiveFloat(j, key, 1.0));
    out = v;
    return Status::Ok();
  };
  DV_RETURN_IF_ERROR(optional_positive("beta_fast", r.beta_fast));
  DV_RETURN_IF_ERROR(optional_positive("beta_slow", r.beta_slow));
  DV_RETURN_IF_ERROR(optional_positive("attention_factor", r.attention_factor));
  if (!r.attention_factor) DV_RETURN_IF_ERROR(optional_positive("attn_factor", r.attention_factor));
  return r;
}

// A token id field: a non-negative integer; lists (several EOS ids) and null are "absent".
std::optional<uint64_t> TokenId(const json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return std::nullopt;
  return it->get<uint64_t>();
}

}  // namespace

Result<HfModelConfig> HfModelConfig::Parse(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("config.json is not a JSON object");
  HfModelConfig c;
  if (const auto it = doc.find("architectures"); it != doc.end()) {
    if (!it->is_array()) return InvalidArgument("config.json: \"architectures\" must be an array of strings");
    for (const json& a : *it) {
      if (!a.is_string()) return InvalidArgument("config.json: \"architectures\" must be an array of strings");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  if (const auto it = doc.find("model_type"); it != doc.end() && it->is_string()) c.model_type = it->get<std::string>();
  DV_ASSIGN_OR_RETURN(c.hidden_size, PositiveInt(doc, "hidden_size", 0));
  DV_ASSIGN_OR_RETURN(c.num_hidden_layers, PositiveInt(doc, "num_hidden_layers", 0));
  DV_ASSIGN_OR_RETURN(c.num_attention_heads, PositiveInt(doc, "num_attention_heads", 0));
  DV_ASSIGN_OR_RETURN(c.num_key_value_heads, PositiveInt(doc, "num_key_value_heads", c.num_attention_heads));
  DV_ASSIGN_OR_RETURN(c.intermediate_size, PositiveInt(doc, "intermediate_size", 0));
  DV_ASSIGN_OR_RETURN(c.vocab_size, PositiveInt(doc, "vocab_size", 0));
  DV_ASSIGN_OR_RETURN(c.max_position_embeddings, PositiveInt(doc, "max_position_embeddings", 2048));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return InvalidArgument("config.json: num_attention_heads " + std::to_string(c.num_attention_heads) +
                           " is not a multiple of num_key_value_heads " + std::to_string(c.num_key_value_heads));
  }
  const bool has_head_dim = doc.contains("head_dim") && !doc["head_dim"].is_null();
  if (!has_head_dim && c.hidden_size % c.num_attention_heads != 0) {
    return InvalidArgument("config.json: hidden_size " + std::to_string(c.hidden_size) +
                           " is not a multiple of num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  DV_ASSIGN_OR_RETURN(c.head_dim, PositiveInt(doc, "head_dim", c.hidden_size / c.num_attention_heads));
  c.head_dim_in_file = has_head_dim;
  DV_ASSIGN_OR_RETURN(c.rope_theta, PositiveFloat(doc, "rope_theta", 10000.0));
  DV_ASSIGN_OR_RETURN(c.rms_norm_eps, PositiveFloat(doc, "rms_norm_eps", 1e-6));
  DV_ASSIGN_OR_RETURN(const std::optional<bool> tie, OptionalBool(doc, "tie_word_embeddings"));
  c.tie_word_embeddings = tie.value_or(false);
  DV_ASSIGN_OR_RETURN(c.attention_bias, OptionalBool(doc, "attention_bias"));
  DV_ASSIGN_OR_RETURN(c.mlp_bias, OptionalBool(doc, "mlp_bias"));
  c.bos_token_id = TokenId(doc, "bos_token_id");
  c.eos_token_id = TokenId(doc, "eos_token_id");
  c.pad_token_id = TokenId(doc, "pad_token_id");
  if (const auto it = doc.find("rope_parameters"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("config.json: \"rope_parameters\" must be an object or null");
    DV_ASSIGN_OR_RETURN(c.rope_theta, PositiveFloat(*it, "rope_theta", c.rope_theta));
    const auto type = it->find("rope_type");
    if (type == it->end() || !type->is_string() || type->get<std::string>() != "default") {
      DV_ASSIGN_OR_RETURN(RopeScaling r, ParseRopeScaling(*it));
      c.rope_scaling = std::move(r);
    }
  } else if (const auto it = doc.find("rope_scaling"); it != doc.end() && !it->is_null()) {
    DV_ASSIGN_OR_RETURN(RopeScaling r, ParseRopeScaling(*it));
    c.rope_scaling = std::move(r);
  }
  return c;
}

Result<HfModel> HfModel::Open(const std::filesystem::path& dir) {
  HfModel m;
  {
    auto text = ReadSmallFile(dir / "config.json", kMaxConfigBytes);
    if (!text.ok()) return std::move(text).error();
    auto config = HfModelConfig::Parse(*text);
    if (!config.ok()) return std::move(config).error().AddContext(dir.string());
    m.config_ = std::move(config).value();
  }
  std::vector<std::string> shard_names;
  std::map<std::string, std::string> weight_map;
  const auto index_path = dir / "model.safetensors.index.json";
  if (std::filesystem::exists(index_path)) {
    auto text = ReadSmallFile(index_path, kMaxIndexBytes);
    if (!text.ok()) return std::move(text).error();
    const json doc = json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object()) {
      return InvalidArgument(index_path.string() + ": expected an object with a \"weight_map\" object");
    }
    std::set<std::string> seen;
    for (const auto& [tensor, file] : doc["weight_map"].items()) {
      if (!file.is_string()) return InvalidArgument(index_path.string() + ": weight_map values must be file names");
      const std::string name = file.get<std::string>();
      if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        return InvalidArgument(index_path.string() + ": shard name \"" + name + "\" is not a plain file name");
      }
      weight_map.emplace(tensor, name);
      if (seen.insert(name).second) shard_names.push_back(name);
    }
  } else {
    shard_names.push_back("model.safetensors");
  }
  std::map<std::string, size_t> shard_of_name;
  for (const std::string& name : shard_names) {
    auto shard = SafetensorsFile::Open(dir / name);
    if (!shard.ok()) return std::move(shard).error();
    shard_of_name[name] = m.shards_.size();
    m.shards_.push_back(std::move(shard).value());
  }
  // Every tensor exactly once; the index (when present) must say where each one is.
  std::set<std::string_view> names;
  for (size_t i = 0; i < m.shards_.size(); ++i) {
    for (const TensorView& t : m.shards_[i].tensors()) {
      if (!names.insert(t.name).second) {
        return InvalidArgument(m.shards_[i].path() + ": tensor " + t.name + " also appears in another shard");
      }
      if (!weight_map.empty()) {
        const auto it = weight_map.find(t.name);
        if (it == weight_map.end() || shard_of_name[it->second] != i) {
          return InvalidArgument(index_path.string() + ": tensor " + t.name + " is in " + m.shards_[i].path() +
                                 " but the index does not place it there");
        }
      }
    }
  }
  for (const auto& [tensor, file] : weight_map) {
    if (m.shards_[shard_of_name[file]].Find(tensor) == nullptr) {
      return InvalidArgument(index_path.string() + ": the index places tensor " + tensor + " in " + file +
                             ", which does not contain it");
    }
  }
  return m;
}

std::vector<const TensorView*> HfModel::tensors() const {
  std::vector<const TensorView*> out;
  for (const SafetensorsFile& s : shards_) {
    for (const TensorView& t : s.tensors()) out.push_back(&t);
  }
  return out;
}

const TensorView* HfModel::Find(std::string_view name) const {
  for (const SafetensorsFile& s : shards_) {
    if (const TensorView* t = s.Find(name)) return t;
  }
  return nullptr;
}

}  // namespace dv::safetensors
