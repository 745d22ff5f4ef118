// ModelSource over a Hugging Face checkpoint folder, read through dv_safetensors (HfModel: the
// validated config.json, shard index and safetensors files). Tensor names are mapped to GGUF
// names; HF stores linear weights as [out, in] row-major, which is GGUF's ne = [in, out], so the
// mapped bytes are used in place.
#include <algorithm>
#include <unordered_map>

#include "engine/model/source.h"
#include "engine/safetensors/hf_model.h"
#include "engine/safetensors/hf_tensor_names.h"

namespace dv::model {
namespace {

using quant::TensorType;

Result<TensorType> TypeOf(safetensors::DType dtype) {
  switch (dtype) {
    case safetensors::DType::kF32: return TensorType::kF32;
    case safetensors::DType::kF16: return TensorType::kF16;
    case safetensors::DType::kBF16: return TensorType::kBF16;
  }
  return InvalidArgument("unknown safetensors dtype");
}

class HfSource final : public ModelSource {
 public:
  explicit HfSource(std::filesystem::path dir) : dir_(std::move(dir)) {}

  Status Init() {
    DV_ASSIGN_OR_RETURN(model_, safetensors::HfModel::Open(dir_));
    DV_RETURN_IF_ERROR(ReadConfig(model_.config()));
    for (const safetensors::TensorView* t : model_.tensors()) {
      std::string name = safetensors::GgufTensorName(t->name);
      if (name.empty()) continue;  // not used by the graph
      // Some tied checkpoints still carry lm_head.weight; the graph uses token_embd.
      if (config_.tied_output && name == "output.weight") continue;
      const std::string what = "tensor " + t->name;
      if (t->shape.empty() || t->shape.size() > 4) return InvalidArgument(what + ": needs 1 to 4 dimensions");
      TensorRef ref;
      ref.name = std::move(name);
      DV_ASSIGN_OR_RETURN(ref.type, TypeOf(t->dtype));
      ref.n_dims = static_cast<uint32_t>(t->shape.size());
      for (size_t i = 0; i < t->shape.size(); ++i) {
        ref.ne[i] = t->shape[t->shape.size() - 1 - i];  // innermost first
        if (ref.ne[i] == 0) return InvalidArgument(what + ": zero dimension");
      }
      ref.data = t->bytes.data();
      ref.n_bytes = t->bytes.size();
      const std::string key = ref.name;
      tensors_.emplace(key, std::move(ref));
    }
    // Vocabulary size and the tie flag are checked against the tensors by ModelWeights::Load.
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
  Status ReadConfig(const safetensors::HfModelConfig& hf) {
    if (hf.architectures.empty()) return InvalidArgument("config.json: missing \"architectures\"");
    const std::string& cls = hf.architectures[0];
    arch_ = FindArchByHfClass(cls);
    if (arch_ == nullptr) {
      return InvalidArgument("config.json: unsupported architecture " + cls +
                             " (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
    }
    if (hf.attention_bias.value_or(false) && !arch_->qkv_bias) {
      return InvalidArgument("config.json: \"attention_bias\": true is not supported for " + cls);
    }
    if (hf.mlp_bias.value_or(false)) return InvalidArgument("config.json: \"mlp_bias\": true is not supported");
    ModelConfig& c = config_;
    c.arch = std::string(arch_->gguf_name);
    c.qkv_bias = arch_->qkv_bias;
    c.qk_norm = arch_->qk_norm;
    // HfModelConfig guarantees positive values; clamp so that Validate() reports absurd ones.
    auto narrow = [](uint64_t v) { return static_cast<int>(std::min<uint64_t>(v, uint64_t{1} << 30)); };
    c.n_layer = narrow(hf.num_hidden_layers);
    c.n_embd = narrow(hf.hidden_size);
    c.n_head = narrow(hf.num_attention_heads);
    c.n_head_kv = narrow(hf.num_key_value_heads);
    c.head_dim = narrow(hf.head_dim);
    c.n_ff = narrow(hf.intermediate_size);
    c.n_vocab = narrow(hf.vocab_size);
    c.n_ctx_train = static_cast<int64_t>(std::min<uint64_t>(hf.max_position_embeddings, uint64_t{1} << 40));
    c.rms_eps = hf.rms_norm_eps;
    c.tied_output = hf.tie_word_embeddings;

    RopeConfig& r = c.rope;
    r.style = RopeStyle::kNeox;  // HF checkpoints use rotate_half for every architecture
    r.n_rot = c.head_dim;
    r.base = hf.rope_theta;
    r.original_context = c.n_ctx_train;
    if (!hf.rope_scaling) {
      r.scaling = RopeScaling::kNone;
      return Status::Ok();
    }
    const safetensors::RopeScaling& s = *hf.rope_scaling;
    r.factor = s.factor;
    if (s.original_max_position_embeddings) {
      r.original_context = static_cast<int64_t>(std::min<uint64_t>(*s.original_max_position_embeddings, 1ull << 40));
    }
    if (s.type == "default") {
      r.scaling = RopeScaling::kNone;
    } else if (s.type == "linear") {
      r.scaling = RopeScaling::kLinear;
    } else if (s.type == "llama3") {
      r.scaling = RopeScaling::kLlama3;
      r.low_freq_factor = s.low_freq_factor;
      r.high_freq_factor = s.high_freq_factor;
    } else if (s.type == "yarn") {
      r.scaling = RopeScaling::kYarn;
      r.yarn_beta_fast = s.beta_fast.value_or(32.0);
      r.yarn_beta_slow = s.beta_slow.value_or(1.0);
      r.attn_factor = s.attention_factor.value_or(0.0);
    } else {
      return InvalidArgument("config.json: unsupported rope type \"" + s.type +
                             "\" (supported: default, linear, llama3, yarn)");
    }
    return Status::Ok();
  }

  std::filesystem::path dir_;
  safetensors::HfModel model_;
  const ArchDescriptor* arch_ = nullptr;
  ModelConfig config_;
  std::unordered_map<std::string, TensorRef> tensors_;
};

}  // namespace

Result<std::unique_ptr<ModelSource>> OpenHfSource(const std::filesystem::path& dir) {
  auto source = std::make_unique<HfSource>(dir);
  if (Status s = source->Init(); !s.ok()) return std::move(s).AddContext("loading " + dir.string());
  return std::unique_ptr<ModelSource>(std::move(source));
}

}  // namespace dv::model
