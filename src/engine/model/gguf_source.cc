// ModelSource over a GGUF file: hyper-parameters from `<arch>.*` metadata keys.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "engine/gguf/gguf.h"
#include "engine/model/source.h"

namespace dv::model {
namespace {

class GgufSource final : public ModelSource {
 public:
  GgufSource(gguf::GgufFile file, std::filesystem::path path) : file_(std::move(file)), path_(std::move(path)) {}

  Status Init() {
    DV_ASSIGN_OR_RETURN(std::string_view arch_name, file_.GetString("general.architecture"));
    arch_ = FindArchByGgufName(arch_name);
    if (arch_ == nullptr) {
      return InvalidArgument("unsupported architecture \"" + std::string(arch_name) + "\" (supported: " +
                             std::string(SupportedArchList()) + ")");
    }
    for (const gguf::TensorInfo& t : file_.tensors()) {
      TensorRef ref;
      ref.name = std::string(t.name);
      ref.type = t.type;
      ref.n_dims = t.n_dims;
      ref.ne = t.ne;
      ref.data = t.data;
      ref.n_bytes = t.n_bytes;
      tensors_.emplace(ref.name, std::move(ref));
    }
    return ReadConfig(std::string(arch_name));
  }

  const ModelConfig& config() const override { return config_; }
  const ArchDescriptor& arch() const override { return *arch_; }
  const TensorRef* Find(std::string_view name) const override {
    auto it = tensors_.find(std::string(name));
    return it == tensors_.end() ? nullptr : &it->second;
  }
  const gguf::GgufFile* gguf() const override { return &file_; }
  const std::filesystem::path& path() const override { return path_; }

 private:
  Result<int64_t> Int(const std::string& key) const {
    DV_ASSIGN_OR_RETURN(uint64_t v, file_.GetUnsigned(key));
    if (v > (uint64_t{1} << 40)) return InvalidArgument("metadata " + key + " = " + std::to_string(v) + " is too large");
    return static_cast<int64_t>(v);
  }
  Result<int64_t> IntOr(const std::string& key, int64_t fallback) const {
    if (!file_.Has(key)) return fallback;
    return Int(key);
  }
  Result<double> FloatOr(const std::string& key, double fallback) const {
    if (!file_.Has(key)) return fallback;
    DV_ASSIGN_OR_RETURN(double v, file_.GetFloat(key));
    if (!std::isfinite(v)) return InvalidArgument("metadata " + key + " is not finite");
    return v;
  }

  Status ReadConfig(const std::string& a) {
    ModelConfig& c = config_;
    c.arch = a;
    c.qkv_bias = arch_->qkv_bias;
    c.qk_norm = arch_->qk_norm;
    DV_ASSIGN_OR_RETURN(int64_t n_layer, Int(a + ".block_count"));
    DV_ASSIGN_OR_RETURN(int64_t n_embd, Int(a + ".embedding_length"));
    DV_ASSIGN_OR_RETURN(int64_t n_head, Int(a + ".attention.head_count"));
    DV_ASSIGN_OR_RETURN(int64_t n_head_kv, IntOr(a + ".attention.head_count_kv", n_head));
    DV_ASSIGN_OR_RETURN(int64_t n_ff, Int(a + ".feed_forward_length"));
    DV_ASSIGN_OR_RETURN(int64_t n_ctx, Int(a + ".context_length"));
    if (n_head == 0) return InvalidArgument("metadata " + a + ".attention.head_count is 0");
    DV_ASSIGN_OR_RETURN(int64_t head_dim, IntOr(a + ".attention.key_length", n_embd / n_head));
    DV_ASSIGN_OR_RETURN(int64_t value_dim, IntOr(a + ".attention.value_length", head_dim));
    if (value_dim != head_dim) {
      return InvalidArgument("attention.value_length " + std::to_string(value_dim) + " != key_length " +
                             std::to_string(head_dim) + " is not supported");
    }
    if (!arch_->head_dim_explicit && head_dim * n_head != n_embd) {
      return InvalidArgument("attention.key_length " + std::to_string(head_dim) + " x head_count " +
                             std::to_string(n_head) + " != embedding_length " + std::to_string(n_embd));
    }
    DV_ASSIGN_OR_RETURN(int64_t n_rot, IntOr(a + ".rope.dimension_count", head_dim));
    DV_ASSIGN_OR_RETURN(c.rms_eps, FloatOr(a + ".attention.layer_norm_rms_epsilon", 1e-5));
    DV_ASSIGN_OR_RETURN(c.rope.base, FloatOr(a + ".rope.freq_base", 10000.0));
    const TensorRef* embd = Find("token_embd.weight");
    if (embd == nullptr) return InvalidArgument("tensor token_embd.weight is missing");
    const int64_t n_vocab = static_cast<int64_t>(embd->ne[1]);
    auto narrow = [](int64_t v) { return static_cast<int>(std::min<int64_t>(v, int64_t{1} << 30)); };
    c.n_layer = narrow(n_layer);
    c.n_embd = narrow(n_embd);
    c.n_head = narrow(n_head);
    c.n_head_kv = narrow(n_head_kv);
    c.head_dim = narrow(head_dim);
    c.n_ff = narrow(n_ff);
    c.n_vocab = narrow(n_vocab);
    c.n_ctx_train = n_ctx;
    c.rope.n_rot = narrow(n_rot);
    c.rope.style = arch_->gguf_rope_style;
    c.tied_output = Find("output.weight") == nullptr;
    DV_RETURN_IF_ERROR(ReadRopeScaling(a));
    return c.Validate();
  }

  Status ReadRopeScaling(const std::string& a) {
    RopeConfig& r = config_.rope;
    std::string type = "none";
    if (file_.Has(a + ".rope.scaling.type")) {
      DV_ASSIGN_OR_RETURN(std::string_view t, file_.GetString(a + ".rope.scaling.type"));
      type = std::string(t);
    }
    DV_ASSIGN_OR_RETURN(r.factor, FloatOr(a + ".rope.scaling.factor", 1.0));
    if (file_.Has(a + ".rope.scale_linear")) {  // older files
      DV_ASSIGN_OR_RETURN(r.factor, FloatOr(a + ".rope.scale_linear", 1.0));
      type = "linear";
    }
    DV_ASSIGN_OR_RETURN(r.original_context, IntOr(a + ".rope.scaling.original_context_length", config_.n_ctx_train));
    DV_ASSIGN_OR_RETURN(r.attn_factor, FloatOr(a + ".rope.scaling.attn_factor", 0.0));
    DV_ASSIGN_OR_RETURN(r.yarn_beta_fast, FloatOr(a + ".rope.scaling.yarn_beta_fast", 32.0));
    DV_ASSIGN_OR_RETURN(r.yarn_beta_slow, FloatOr(a + ".rope.scaling.yarn_beta_slow", 1.0));
    if (type == "none" || (type == "linear" && r.factor == 1.0)) {
      r.scaling = RopeScaling::kNone;
    } else if (type == "linear") {
      r.scaling = RopeScaling::kLinear;
    } else if (type == "yarn") {
      r.scaling = RopeScaling::kYarn;
      if (r.attn_factor > 0) r.attn_factor *= 1.0 + 0.1 * std::log(r.factor);  // llama.cpp: attn_factor * mscale
    } else {
      return InvalidArgument("unsupported rope.scaling.type \"" + type + "\" (supported: none, linear, yarn)");
    }
    // Llama 3.x: the scaled frequencies come precomputed as divisors in rope_freqs.weight.
    if (const TensorRef* freqs = Find("rope_freqs.weight")) {
      if (freqs->type != quant::TensorType::kF32 || freqs->n_dims != 1 ||
          freqs->ne[0] != static_cast<uint64_t>(config_.rope.n_rot / 2)) {
        return InvalidArgument("tensor rope_freqs.weight: expected F32 [" + std::to_string(config_.rope.n_rot / 2) +
                               "], found " + quant::TypeName(freqs->type) + " " + freqs->ShapeString());
      }
      r.freq_factors.resize(freqs->ne[0]);
      std::memcpy(r.freq_factors.data(), freqs->data, freqs->ne[0] * sizeof(float));
      for (float f : r.freq_factors) {
        if (!(f > 0 && std::isfinite(f))) return InvalidArgument("tensor rope_freqs.weight holds a non-positive factor");
      }
    }
    return Status::Ok();
  }

  gguf::GgufFile file_;
  std::filesystem::path path_;
  const ArchDescriptor* arch_ = nullptr;
  ModelConfig config_;
  std::unordered_map<std::string, TensorRef> tensors_;
};

}  // namespace

std::string TensorRef::ShapeString() const {
  std::string s = "[";
  for (uint32_t i = 0; i < std::max<uint32_t>(n_dims, 1); ++i) {
    if (i) s += ", ";
    s += std::to_string(ne[i]);
  }
  return s + "]";
}

Result<std::unique_ptr<ModelSource>> OpenGgufSource(const std::filesystem::path& path, gguf::MapMode map_mode) {
  DV_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::Open(path, {.map_mode = map_mode}));
  auto source = std::make_unique<GgufSource>(std::move(file), path);
  if (Status s = source->Init(); !s.ok()) return std::move(s).AddContext("loading " + path.string());
  return std::unique_ptr<ModelSource>(std::move(source));
}

Result<std::unique_ptr<ModelSource>> OpenModelSource(const std::filesystem::path& path, gguf::MapMode map_mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return OpenHfSource(path);
  if (!std::filesystem::exists(path, ec)) return NotFound("model not found: " + path.string());
  return OpenGgufSource(path, map_mode);
}

}  // namespace dv::model
