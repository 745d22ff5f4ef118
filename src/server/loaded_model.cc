#include "server/loaded_model.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/gguf/gguf.h"
#include "engine/model/source.h"
#include "engine/tokenizer/special_text_guard.h"

namespace dv::server {
namespace {

// Used when a model ships no chat template: ChatML, which most instruction-tuned models know.
constexpr std::string_view kChatMlTemplate =
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

// End-of-turn tokens of common templates; those present in the vocabulary stop generation.
constexpr std::string_view kEndOfTurnTokens[] = {
    "<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "<|end|>", "<end_of_turn>", "<|eom_id|>",
};

Result<std::string> ReadSmallFile(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound("cannot read " + path.string() + ": " + ec.message());
  if (size > max_bytes) return InvalidArgument(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return DataLoss("error reading " + path.string());
  return ss.str();
}

}  // namespace

Result<std::unique_ptr<LoadedModel>> LoadedModel::Load(const std::filesystem::path& path, const LoadOptions& options) {
  if (options.n_ctx < 16 || options.n_slots < 1 || options.n_slots > 1024) {
    return InvalidArgument("model context must be >= 16 and slots in [1, 1024]");
  }
  std::unique_ptr<LoadedModel> m(new LoadedModel());
  // The shape first (metadata only), to check the KV budget before the engine allocates it.
  std::string template_source;
  uint64_t file_bytes = 0;
  {
    DV_ASSIGN_OR_RETURN(auto source, model::OpenModelSource(path));
    m->config_ = source->config();
    if (const gguf::GgufFile* gg = source->gguf()) {
      file_bytes = gg->file_size();
      if (auto t = gg->GetString("tokenizer.chat_template"); t.ok()) template_source = std::string(*t);
    }
  }
  const model::ModelConfig& c = m->config_;
  int n_ctx = options.n_ctx;
  if (c.n_ctx_train > 0 && n_ctx > c.n_ctx_train) n_ctx = static_cast<int>(c.n_ctx_train);
  const uint64_t kv_bytes = uint64_t{2} * 2 /*fp16*/ * static_cast<uint64_t>(c.n_layer) * options.n_slots * n_ctx *
                            static_cast<uint64_t>(c.kv_dim());
  if (kv_bytes > options.kv_budget_bytes) {
    return ResourceExhausted("the KV cache for " + std::to_string(options.n_slots) + " sequences of " +
                             std::to_string(n_ctx) + " tokens needs " + std::to_string(kv_bytes >> 20) +
                             " MiB, over the budget of " + std::to_string(options.kv_budget_bytes >> 20) +
                             " MiB (lower server.parallel or server.context)");
  }
  engine::LoadOptions eo;
  eo.n_threads = options.n_threads > 0 ? options.n_threads : 0;
  eo.n_ctx = n_ctx;
  eo.max_sequences = options.n_slots;
  eo.weight_memory = options.map_weights ? engine::WeightMemory::kFileMapping : engine::WeightMemory::kHugePages;
  DV_ASSIGN_OR_RETURN(m->engine_, engine::Engine::Load(path, eo));
  m->tokenizer_ = m->engine_->tokenizer();
  if (m->tokenizer_ == nullptr) {
    return InvalidArgument(path.string() + " has no usable tokenizer: " +
                           m->engine_->Tokenize("", false).status().Describe());
  }
  if (m->tokenizer_->vocab_size() > static_cast<size_t>(c.n_vocab)) {
    return InvalidArgument("tokenizer has " + std::to_string(m->tokenizer_->vocab_size()) +
                           " tokens but the model's vocabulary is " + std::to_string(c.n_vocab));
  }

  // Chat template and the special tokens it sees.
  const tok::TokenizerSpec& spec = m->tokenizer_->spec();
  nlohmann::ordered_json specials = nlohmann::ordered_json::object();
  if (spec.bos_id) specials["bos_token"] = std::string(m->tokenizer_->TokenText(*spec.bos_id));
  if (spec.eos_id) specials["eos_token"] = std::string(m->tokenizer_->TokenText(*spec.eos_id));
  if (std::filesystem::is_directory(path) && std::filesystem::exists(path / "tokenizer_config.json")) {
    DV_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path / "tokenizer_config.json", 16 << 20));
    auto cfg = nlohmann::ordered_json::parse(text, nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object()) {
      return InvalidArgument((path / "tokenizer_config.json").string() + " is not a JSON object");
    }
    DV_ASSIGN_OR_RETURN(specials, chat::SpecialTokensFromConfig(cfg));
    if (cfg.contains("chat_template")) {
      DV_ASSIGN_OR_RETURN(auto tmpl, chat::ChatTemplate::FromTokenizerConfig(text));
      m->template_.emplace(std::move(tmpl));
    }
  }
  if (!m->template_) {
    m->info_.builtin_template = template_source.empty();
    auto compiled = chat::ChatTemplate::Compile(template_source.empty() ? kChatMlTemplate : template_source);
    if (!compiled.ok()) return std::move(compiled).error().AddContext("compiling the chat template of " + path.string());
    m->template_.emplace(std::move(compiled).value());
  }
  DV_RETURN_IF_ERROR(m->template_->SetSpecialTokens(specials));
  m->info_.reasoning = m->template_->source().find("<think>") != std::string::npos;

  // Stop tokens: the engine's end-of-generation ids (EOS, EOT, EOM) and known end-of-turn tokens.
  for (int32_t id : m->engine_->info().eos_ids) {
    if (m->tokenizer_->IsValidId(id)) m->stop_tokens_.push_back(id);
  }
  if (spec.eos_id) m->stop_tokens_.push_back(*spec.eos_id);
  for (std::string_view text : kEndOfTurnTokens) {
    if (auto id = m->tokenizer_->FindToken(text)) m->stop_tokens_.push_back(*id);
  }
  std::sort(m->stop_tokens_.begin(), m->stop_tokens_.end());
  m->stop_tokens_.erase(std::unique(m->stop_tokens_.begin(), m->stop_tokens_.end()), m->stop_tokens_.end());
  if (!spec.prefix_ids.empty()) m->bos_ = spec.prefix_ids.front();

  const engine::ModelInfo& ei = m->engine_->info();
  ModelInfo& info = m->info_;
  info.arch = c.arch;
  info.file_name = path.filename().string();
  info.file_bytes = file_bytes;
  info.weight_bytes = ei.bytes_per_token;
  info.kv_bytes = kv_bytes;
  info.n_ctx = ei.n_ctx;
  info.n_slots = options.n_slots;
  info.n_vocab = c.n_vocab;
  info.n_embd = c.n_embd;
  info.last_token_pooling = c.arch == "qwen3";
  info.quantization = ei.weight_type;
  std::transform(info.quantization.begin(), info.quantization.end(), info.quantization.begin(), ::toupper);
  const int64_t per_layer = static_cast<int64_t>(c.n_embd) * (c.q_dim() * 2 + c.kv_dim() * 2) +
                            static_cast<int64_t>(c.n_embd) * c.n_ff * 3;
  info.n_params = per_layer * c.n_layer + static_cast<int64_t>(c.n_vocab) * c.n_embd * (c.tied_output ? 1 : 2);
  return m;
}

const grammar::TokenTrie& LoadedModel::token_trie() const {
  std::call_once(trie_once_, [this] {
    std::vector<grammar::TokenTrie::Token> tokens;
    tokens.reserve(tokenizer_->vocab_size());
    for (size_t i = 0; i < tokenizer_->vocab_size(); ++i) {
      const auto id = static_cast<tok::TokenId>(i);
      if (IsStopToken(id)) continue;  // end of generation is decided by the matcher's IsComplete
      tokens.push_back({id, std::string(tokenizer_->TokenBytes(id)), tokenizer_->IsSpecial(id)});
    }
    trie_ = std::make_unique<grammar::TokenTrie>(std::move(tokens), config_.n_vocab);
  });
  return *trie_;
}

bool LoadedModel::IsStopToken(tok::TokenId id) const {
  return std::binary_search(stop_tokens_.begin(), stop_tokens_.end(), id);
}

namespace {

// `value` with every string (not object keys) passed through guard.Protect.
nlohmann::ordered_json ProtectStrings(const nlohmann::ordered_json& value, tok::SpecialTextGuard& guard) {
  if (value.is_string()) return guard.Protect(value.get_ref<const std::string&>());
  if (value.is_array() || value.is_object()) {
    nlohmann::ordered_json out = value;
    for (auto& item : out) item = ProtectStrings(item, guard);
    return out;
  }
  return value;
}

}  // namespace

Result<std::vector<tok::TokenId>> LoadedModel::EncodeChat(const nlohmann::ordered_json& messages,
                                                          const nlohmann::ordered_json& tools,
                                                          const nlohmann::ordered_json& template_kwargs,
                                                          std::string* rendered) const {
  // Message contents and template arguments come from the caller: special-token text in them
  // is tokenized as plain text, never as control tokens (special_text_guard.h).
  tok::SpecialTextGuard guard(*tokenizer_);
  chat::ChatTemplateInput input;
  input.messages = ProtectStrings(messages, guard);
  if (tools.is_array() && !tools.empty()) input.tools = ProtectStrings(tools, guard);
  input.add_generation_prompt = true;
  input.kwargs = ProtectStrings(template_kwargs, guard);
  DV_ASSIGN_OR_RETURN(std::string prompt, template_->Render(input));
  DV_ASSIGN_OR_RETURN(std::vector<tok::TokenId> ids, guard.Encode(prompt));
  const auto& prefix = tokenizer_->spec().prefix_ids;
  if (!prefix.empty() && (ids.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), ids.begin()))) {
    ids.insert(ids.begin(), prefix.begin(), prefix.end());
  }
  if (rendered) *rendered = guard.Restore(prompt);
  return ids;
}

Result<std::vector<tok::TokenId>> LoadedModel::EncodePrompt(std::string_view prompt) const {
  tok::EncodeOptions opts;
  opts.add_special = true;
  DV_ASSIGN_OR_RETURN(std::vector<tok::TokenId> ids, tokenizer_->Encode(prompt, opts));
  // Drop suffix ids (e.g. an EOS some tokenizers append): generation continues the prompt.
  const auto& suffix = tokenizer_->spec().suffix_ids;
  if (!suffix.empty() && ids.size() >= suffix.size() && std::equal(suffix.rbegin(), suffix.rend(), ids.rbegin())) {
    ids.resize(ids.size() - suffix.size());
  }
  return ids;
}

}  // namespace dv::server
