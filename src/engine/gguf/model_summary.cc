#include "engine/gguf/model_summary.h"

namespace dv::gguf {

std::optional<std::string> FileTypeName(uint64_t ftype) {
  // llama.h, enum llama_ftype (ids 4..6 and 19.. were assigned to formats deepvault cannot read,
  // named here all the same so that `model info` can say what a file is).
  switch (ftype) {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K";
    case 11: return "Q3_K_S";
    case 12: return "Q3_K_M";
    case 13: return "Q3_K_L";
    case 14: return "Q4_K_S";
    case 15: return "Q4_K_M";
    case 16: return "Q5_K_S";
    case 17: return "Q5_K_M";
    case 18: return "Q6_K";
    case 19: return "IQ2_XXS";
    case 20: return "IQ2_XS";
    case 21: return "Q2_K_S";
    case 22: return "IQ3_XS";
    case 23: return "IQ3_XXS";
    case 24: return "IQ1_S";
    case 25: return "IQ4_NL";
    case 26: return "IQ3_S";
    case 27: return "IQ3_M";
    case 28: return "IQ2_S";
    case 29: return "IQ2_M";
    case 30: return "IQ4_XS";
    case 31: return "IQ1_M";
    case 32: return "BF16";
    case 36: return "TQ1_0";
    case 37: return "TQ2_0";
    default: return std::nullopt;
  }
}

double ModelSummary::bits_per_weight() const {
  return parameters == 0 ? 0.0 : 8.0 * static_cast<double>(tensor_bytes) / static_cast<double>(parameters);
}

namespace {

std::optional<uint64_t> OptionalUnsigned(const GgufFile& f, const std::string& key) {
  auto v = f.GetUnsigned(key);
  return v.ok() ? std::optional<uint64_t>(*v) : std::nullopt;
}

std::optional<double> OptionalFloat(const GgufFile& f, const std::string& key) {
  auto v = f.GetFloat(key);
  return v.ok() ? std::optional<double>(*v) : std::nullopt;
}

std::string OptionalString(const GgufFile& f, const std::string& key) {
  auto v = f.GetString(key);
  return v.ok() ? std::string(*v) : std::string();
}

}  // namespace

ModelSummary Summarize(const GgufFile& f) {
  ModelSummary s;
  s.path = f.path();
  s.file_size = f.file_size();
  s.gguf_version = f.version();
  s.shards = f.shard_count();
  s.architecture = OptionalString(f, "general.architecture");
  s.name = OptionalString(f, "general.name");
  if (auto ftype = OptionalUnsigned(f, "general.file_type")) s.file_type = FileTypeName(*ftype);
  for (const TensorInfo& t : f.tensors()) {
    s.parameters += t.n_elements;
    s.tensor_bytes += t.n_bytes;
    TensorTypeStats& st = s.types[t.type];
    ++st.tensors;
    st.elements += t.n_elements;
    st.bytes += t.n_bytes;
  }
  const std::string a = s.architecture + ".";
  if (!s.architecture.empty()) {
    s.context_length = OptionalUnsigned(f, a + "context_length");
    s.embedding_length = OptionalUnsigned(f, a + "embedding_length");
    s.block_count = OptionalUnsigned(f, a + "block_count");
    s.feed_forward_length = OptionalUnsigned(f, a + "feed_forward_length");
    s.head_count = OptionalUnsigned(f, a + "attention.head_count");
    s.head_count_kv = OptionalUnsigned(f, a + "attention.head_count_kv");
    s.expert_count = OptionalUnsigned(f, a + "expert_count");
    s.expert_used_count = OptionalUnsigned(f, a + "expert_used_count");
    s.vocab_size_key = OptionalUnsigned(f, a + "vocab_size");
    s.rope_freq_base = OptionalFloat(f, a + "rope.freq_base");
    s.rms_norm_eps = OptionalFloat(f, a + "attention.layer_norm_rms_epsilon");
  }
  s.tokenizer_model = OptionalString(f, "tokenizer.ggml.model");
  s.tokenizer_pre = OptionalString(f, "tokenizer.ggml.pre");
  if (const Value* tokens = f.Find("tokenizer.ggml.tokens"); tokens && tokens->type() == ValueType::kArray) {
    s.vocab_size = tokens->array_size();
  }
  s.bos_token_id = OptionalUnsigned(f, "tokenizer.ggml.bos_token_id");
  s.eos_token_id = OptionalUnsigned(f, "tokenizer.ggml.eos_token_id");
  if (auto t = f.GetString("tokenizer.chat_template"); t.ok()) s.chat_template = std::string(*t);
  return s;
}

}  // namespace dv::gguf
