// The Engine implementation: a ModelSource, its weights, one KV cache slot per sequence and the
// shared forward pass.
#include "deepvault/engine.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/cpu/cpu_features.h"
#include "engine/gguf/gguf.h"
#include "engine/model/source.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/runtime/kv_cache.h"
#include "engine/tokenizer/load_gguf.h"
#include "engine/tokenizer/loader.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::engine {
namespace {

constexpr int kDefaultContext = 4096;
constexpr int kMaxThreads = 256;
constexpr int kMaxSequences = 4096;

nlohmann::json ReadJsonOrNull(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  return j.is_discarded() ? nullptr : j;
}

void AddIds(const nlohmann::json& v, std::vector<int32_t>& out) {
  if (v.is_number_integer()) out.push_back(v.get<int32_t>());
  if (v.is_array()) {
    for (const auto& x : v) AddIds(x, out);
  }
}

class EngineImpl final : public Engine {
 public:
  Status Init(const std::filesystem::path& path, const LoadOptions& options) {
    if (options.n_threads < 0 || options.n_threads > kMaxThreads) {
      return InvalidArgument("threads must be in [0, " + std::to_string(kMaxThreads) + "], got " +
                             std::to_string(options.n_threads));
    }
    if (options.max_sequences < 1 || options.max_sequences > kMaxSequences) {
      return InvalidArgument("max_sequences must be in [1, " + std::to_string(kMaxSequences) + "]");
    }
    if (options.max_batch < 1) return InvalidArgument("max_batch must be >= 1");
    if (options.n_ctx < 0) return InvalidArgument("context size must be >= 0, got " + std::to_string(options.n_ctx));
    DV_ASSIGN_OR_RETURN(source_, model::OpenModelSource(path, options.weight_memory == WeightMemory::kHugePages
                                                                 ? gguf::MapMode::kHugePages
                                                                 : gguf::MapMode::kMap));
    DV_ASSIGN_OR_RETURN(weights_, model::ModelWeights::Load(*source_));
    const model::ModelConfig& c = source_->config();
    if (options.n_ctx > c.n_ctx_train) {
      return InvalidArgument("context size " + std::to_string(options.n_ctx) + " is longer than the model's " +
                             "training context " + std::to_string(c.n_ctx_train));
    }
    const int n_ctx =
        options.n_ctx > 0 ? options.n_ctx : static_cast<int>(std::min<int64_t>(c.n_ctx_train, kDefaultContext));
    int n_threads = options.n_threads;
    if (n_threads == 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    max_batch_ = options.max_batch;
    const runtime::KvType kv_type = options.kv_type == KvCacheType::kF32    ? runtime::KvType::kF32
                                    : options.kv_type == KvCacheType::kQ8_0 ? runtime::KvType::kQ8_0
                                                                             : runtime::KvType::kF16;
    DV_RETURN_IF_ERROR(runtime::CheckKvType(kv_type, c.head_dim));
    cache_ = std::make_unique<runtime::KvCache>(c.n_layer, options.max_sequences, n_ctx, c.kv_dim(), kv_type);
    transformer_ = std::make_unique<model::Transformer>(c, weights_, n_threads);
    lengths_.assign(options.max_sequences, -1);

    ModelInfo& i = info_;
    i.arch = c.arch;
    i.n_layer = c.n_layer;
    i.n_embd = c.n_embd;
    i.n_head = c.n_head;
    i.n_head_kv = c.n_head_kv;
    i.kv_type = std::string(runtime::KvTypeName(kv_type));
    i.kv_cache_bytes = cache_->bytes();
    i.n_vocab = c.n_vocab;
    i.n_ctx_train = c.n_ctx_train;
    i.n_ctx = n_ctx;
    i.n_threads = n_threads;
    i.weight_type = quant::TypeName(weights_.layers[0].gate.type);
    i.bytes_per_token = weights_.BytesPerToken();
    i.weight_bytes = i.bytes_per_token + weights_.token_embd->n_bytes - weights_.token_embd->n_bytes / c.n_vocab;
    if (c.tied_output) i.weight_bytes -= weights_.output.bytes();
    i.kernel_isa = weights_.layers[0].gate.kernel.isa;
    i.name = path.filename().string();
    LoadTokenizer(path);
    return Status::Ok();
  }

  const ModelInfo& info() const override { return info_; }

  Result<std::vector<int32_t>> Tokenize(std::string_view text, bool add_bos, bool allow_special) const override {
    if (tokenizer_ == nullptr) return FailedPrecondition("the model has no usable tokenizer: " + tokenizer_error_);
    tok::EncodeOptions options;
    options.allow_special = allow_special;
    DV_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer_->Encode(text, options));
    if (add_bos && info_.bos_id >= 0 && (ids.empty() || ids[0] != info_.bos_id)) ids.insert(ids.begin(), info_.bos_id);
    return ids;
  }

  Result<std::string> Detokenize(std::span<const int32_t> ids) const override {
    if (tokenizer_ == nullptr) return FailedPrecondition("the model has no usable tokenizer: " + tokenizer_error_);
    return tokenizer_->Decode(ids);
  }

  const tok::Tokenizer* tokenizer() const override { return tokenizer_.get(); }

  Result<SequenceId> CreateSequence() override {
    for (size_t s = 0; s < lengths_.size(); ++s) {
      if (lengths_[s] < 0) {
        lengths_[s] = 0;
        return static_cast<SequenceId>(s);
      }
    }
    return ResourceExhausted("all " + std::to_string(lengths_.size()) + " sequence slots are in use");
  }

  Status FreeSequence(SequenceId seq) override {
    DV_RETURN_IF_ERROR(Check(seq));
    lengths_[seq] = -1;
    return Status::Ok();
  }

  Result<int> SequenceLength(SequenceId seq) const override {
    DV_RETURN_IF_ERROR(Check(seq));
    return lengths_[seq];
  }

  Status TruncateSequence(SequenceId seq, int length) override {
    DV_RETURN_IF_ERROR(Check(seq));
    if (length < 0 || length > lengths_[seq]) {
      return InvalidArgument("cannot truncate a sequence of " + std::to_string(lengths_[seq]) + " positions to " +
                             std::to_string(length));
    }
    lengths_[seq] = length;
    return Status::Ok();
  }

  Status Decode(std::span<const BatchItem> batch) override { return DecodeImpl(batch, /*want_logits=*/true); }
  Status DecodeEmbeddings(std::span<const BatchItem> batch) override {
    return DecodeImpl(batch, /*want_logits=*/false);
  }

  Status DecodeImpl(std::span<const BatchItem> batch, bool want_logits) {
    // Validate everything first so that a bad item leaves the engine unchanged.
    std::vector<int> next(lengths_);
    std::vector<model::BatchToken> tokens;
    tokens.reserve(batch.size());
    for (const BatchItem& item : batch) {
      DV_RETURN_IF_ERROR(Check(item.seq));
      if (item.token < 0 || item.token >= info_.n_vocab) {
        return InvalidArgument("token id " + std::to_string(item.token) + " is outside the vocabulary [0, " +
                               std::to_string(info_.n_vocab) + ")");
      }
      if (next[item.seq] >= info_.n_ctx) {
        return InvalidArgument("sequence " + std::to_string(item.seq) + " would exceed the context of " +
                               std::to_string(info_.n_ctx) + " tokens");
      }
      tokens.push_back({item.token, item.seq, next[item.seq]++, item.want_output});
    }
    logits_.clear();
    hidden_.clear();
    for (size_t start = 0; start < tokens.size(); start += max_batch_) {
      const size_t n = std::min<size_t>(max_batch_, tokens.size() - start);
      DV_RETURN_IF_ERROR(transformer_->Forward(std::span(tokens).subspan(start, n), *cache_,
                                               want_logits ? &logits_ : nullptr, &hidden_));
    }
    lengths_ = std::move(next);
    return Status::Ok();
  }

  Status Prefill(SequenceId seq, std::span<const int32_t> tokens) override {
    DV_RETURN_IF_ERROR(Check(seq));
    if (tokens.empty()) return InvalidArgument("empty prompt");
    if (lengths_[seq] + tokens.size() > static_cast<size_t>(info_.n_ctx)) {
      return InvalidArgument("prompt of " + std::to_string(tokens.size()) + " tokens does not fit the context of " +
                             std::to_string(info_.n_ctx) + " tokens (" + std::to_string(lengths_[seq]) +
                             " already used)");
    }
    std::vector<BatchItem> items;
    items.reserve(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) items.push_back({seq, tokens[i], i + 1 == tokens.size()});
    return Decode(items);
  }

  int n_outputs() const override { return static_cast<int>(hidden_.size() / info_.n_embd); }
  std::span<const float> Logits(int i) const override {
    return std::span(logits_).subspan(static_cast<size_t>(i) * info_.n_vocab, info_.n_vocab);
  }
  std::span<const float> Embedding(int i) const override {
    return std::span(hidden_).subspan(static_cast<size_t>(i) * info_.n_embd, info_.n_embd);
  }

 private:
  Status Check(SequenceId seq) const {
    if (seq < 0 || static_cast<size_t>(seq) >= lengths_.size() || lengths_[seq] < 0) {
      return NotFound("unknown sequence " + std::to_string(seq));
    }
    return Status::Ok();
  }

  void LoadTokenizer(const std::filesystem::path& path) {
    Result<std::unique_ptr<tok::Tokenizer>> tok = Status(StatusCode::kNotFound, "no tokenizer");
    if (const gguf::GgufFile* file = source_->gguf()) {
      auto spec = tok::SpecFromGguf(*file);
      tok = spec.ok() ? tok::Tokenizer::Create(std::move(spec).value()) : Result<std::unique_ptr<tok::Tokenizer>>(spec.status());
      if (auto v = file->GetUnsigned("tokenizer.ggml.bos_token_id"); v.ok()) info_.bos_id = static_cast<int32_t>(*v);
      for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        if (auto v = file->GetUnsigned(key); v.ok()) info_.eos_ids.push_back(static_cast<int32_t>(*v));
      }
      if (auto v = file->GetBool("tokenizer.ggml.add_bos_token"); v.ok()) {
        info_.add_bos = *v;
      } else if (auto m = file->GetString("tokenizer.ggml.model"); m.ok()) {
        info_.add_bos = *m == "llama";  // SentencePiece vocabularies default to BOS
      }
      if (auto t = file->GetString("tokenizer.chat_template"); t.ok()) info_.chat_template = std::string(*t);
      if (auto n = file->GetString("general.name"); n.ok() && !n->empty()) info_.name = std::string(*n);
      if (auto v = file->GetFloat("general.sampling.temp"); v.ok() && *v >= 0 && *v <= 100) info_.default_temperature = *v;
      if (auto v = file->GetFloat("general.sampling.top_p"); v.ok() && *v > 0 && *v <= 1) info_.default_top_p = *v;
      if (auto v = file->GetUnsigned("general.sampling.top_k"); v.ok() && *v <= 1000000) info_.default_top_k = static_cast<int>(*v);
    } else {
      tok = tok::LoadTokenizer(path / "tokenizer.json");
      const auto config = ReadJsonOrNull(path / "config.json");
      const auto tok_config = ReadJsonOrNull(path / "tokenizer_config.json");
      const auto gen_config = ReadJsonOrNull(path / "generation_config.json");
      if (config.is_object() && config.contains("bos_token_id") && config["bos_token_id"].is_number_integer()) {
        info_.bos_id = config["bos_token_id"].get<int32_t>();
      }
      for (const auto* j : {&config, &gen_config}) {
        if (j->is_object() && j->contains("eos_token_id")) AddIds((*j)["eos_token_id"], info_.eos_ids);
      }
      if (gen_config.is_object()) {
        const auto& g = gen_config;
        if (g.contains("temperature") && g["temperature"].is_number() && g["temperature"].get<double>() >= 0 &&
            g["temperature"].get<double>() <= 100) {
          info_.default_temperature = g["temperature"].get<double>();
        }
        if (g.contains("top_p") && g["top_p"].is_number() && g["top_p"].get<double>() > 0 && g["top_p"].get<double>() <= 1) {
          info_.default_top_p = g["top_p"].get<double>();
        }
        if (g.contains("top_k") && g["top_k"].is_number_unsigned() && g["top_k"].get<uint64_t>() <= 1000000) {
          info_.default_top_k = g["top_k"].get<int>();
        }
      }
      if (tok_config.is_object()) {
        if (tok_config.contains("add_bos_token") && tok_config["add_bos_token"].is_boolean()) {
          info_.add_bos = tok_config["add_bos_token"].get<bool>();
        }
        if (tok_config.contains("chat_template") && tok_config["chat_template"].is_string()) {
          info_.chat_template = tok_config["chat_template"].get<std::string>();
        }
      }
    }
    std::sort(info_.eos_ids.begin(), info_.eos_ids.end());
    info_.eos_ids.erase(std::unique(info_.eos_ids.begin(), info_.eos_ids.end()), info_.eos_ids.end());
    if (info_.bos_id >= info_.n_vocab) info_.bos_id = -1;
    if (tok.ok()) {
      tokenizer_ = std::move(tok).value();
      // Text that holds ids the model cannot embed is rejected by Decode's vocabulary check.
    } else {
      tokenizer_error_ = tok.status().Describe();
    }
  }

  std::unique_ptr<model::ModelSource> source_;
  model::ModelWeights weights_;
  std::unique_ptr<runtime::KvCache> cache_;
  std::unique_ptr<model::Transformer> transformer_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  std::string tokenizer_error_;
  ModelInfo info_;
  int max_batch_ = 512;
  std::vector<int> lengths_;  // per slot; -1 = free
  std::vector<float> logits_, hidden_;
};

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Load(const std::filesystem::path& model, const LoadOptions& options) {
  auto engine = std::make_unique<EngineImpl>();
  DV_RETURN_IF_ERROR(engine->Init(model, options));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace dv::engine
