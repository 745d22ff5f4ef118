#include "engine/convert/hf_vocab.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/load_hf.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::convert {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenizerJsonBytes = 256u << 20;
constexpr size_t kMaxConfigBytes = 64u << 20;
constexpr uint64_t kMaxVocab = 4'000'000;

// llama.cpp's TokenType values.
constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

// The check text of llama.cpp's get_vocab_base_pre(), byte for byte.
constexpr std::string_view kCheckText =
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\xF0\x9F\x9A\x80 (normal) \xF0\x9F\x98\xB6"
    "\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F (multiple emojis concatenated) \xE2\x9C\x85 \xF0\x9F"
    "\xA6\x99\xF0\x9F\xA6\x99 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 \xE1\x9E"
    "\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B\xE1\x9E\x8F\xE1\x9F\x82\xE1\x9E\x96\xE1\x9E\xB7\xE1"
    "\x9E\x9F\xE1\x9F\x81\xE1\x9E\x9F\xE1\x9E\xA2\xE1\x9E\xB6\xE1\x9E\x85\xF0\x9F\x98\x81 ?\xE6\x88"
    "\x91\xE6\x83\xB3\xE5\x9C\xA8""apple\xE5\xB7\xA5\xE4\xBD\x9C""1314151\xE5\xA4\xA9\xEF\xBD\x9E"
    " ------======= \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE \xD0\xBD\xD0\xB0 \xD0\x91\xD1\x8A\xD0\xBB\xD0"
    "\xB3\xD0\xB0\xD1\x80\xD1\x81\xD0\xBA\xD0\xB8 ''''''```````\"\"\"\"......!!!!!!?????? I've b"
    "een 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a"
    "'lL";

// sha256 hashes from llama.cpp's convert_hf_to_gguf.py for the pre-tokenizers deepvault's GGUF
// tokenizer implements (the reference model is named after each).
struct KnownHash {
  std::string_view hash, name;
};
constexpr KnownHash kKnownHashes[] = {
    {"0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5", "llama-bpe"},        // Meta-Llama-3-8B
    {"c136ed14d01c2745d4f60a9596ae66800e2b61fa45643e72436041855ad4089d", "smaug-bpe"},        // Smaug-Llama-3-70B
    {"049ecf7629871e3041641907f3de7c733e4dbfdc736f57d882ba0b0845599754", "deepseek-llm"},     // deepseek-llm-7b-base
    {"347715f544604f9118bb75ed199f68779f423cabb20db6de6f31b908d04d7821", "deepseek-coder"},   // deepseek-coder-6.7b
    {"877081d19cf6996e2c4ff0e1236341e9b7bde288f5311a56a937f0afbbb3aeb5", "deepseek-v3"},      // DeepSeek-V3
    {"b3f499bb4255f8ca19fccd664443283318f2fd2414d5e0b040fbdd0cc195d6c5", "deepseek-r1-qwen"}, // R1-Distill-Qwen-1.5B
    {"e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea", "qwen2"},            // Qwen1.5-7B
    {"d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c", "qwen2"},            // Qwen3-Embedding-0.6B
    {"3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454", "gpt-2"},            // openai-community/gpt2
};

// Names accepted by --tokenizer-pre: the ones deepvault's GGUF tokenizer loader implements.
constexpr std::string_view kSupportedPre[] = {"gpt-2",    "llama-bpe",    "smaug-bpe",      "qwen2",
                                              "deepseek-r1-qwen", "deepseek-v3", "deepseek-llm", "deepseek-coder"};

constexpr std::string_view kSpecialTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};

Result<json> ParseJson(const std::string& text, const std::string& where) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument(where + " is not a JSON object");
  return doc;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string hex;
  char buf[3];
  for (unsigned char b : digest) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    hex += buf;
  }
  return hex;
}

// A token llama.cpp treats as a control token even when tokenizer.json does not mark it special.
bool LooksSpecial(std::string_view t) {
  auto starts = [&](std::string_view p) { return t.size() >= p.size() && t.substr(0, p.size()) == p; };
  auto ends = [&](std::string_view s) { return t.size() >= s.size() && t.substr(t.size() - s.size()) == s; };
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  if (starts("<|") && ends("|>")) return true;
  if (starts("<\xEF\xBD\x9C") && ends("\xEF\xBD\x9C>")) return true;  // <｜ ... ｜>
  return starts("<unused") && ends(">");
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// The pre-tokenizer recognised from its tokenizer.json definition, or "".
std::string PreFromDefinition(const tok::TokenizerSpec& spec) {
  using Kind = tok::PreTokenizerStep::Kind;
  const auto& steps = spec.pre_tokenizers;
  if (!spec.normalizers.empty()) return "";
  auto is_split = [](const tok::PreTokenizerStep& s, std::string_view pattern) {
    return s.kind == Kind::kSplit && s.pattern_is_regex && s.pattern == pattern && !s.invert &&
           s.behavior == tok::SplitBehavior::kIsolated;
  };
  auto is_plain_byte_level = [](const tok::PreTokenizerStep& s) {
    return s.kind == Kind::kByteLevel && !s.use_regex && !s.add_prefix_space;
  };
  if (steps.size() == 1 && steps[0].kind == Kind::kByteLevel && steps[0].use_regex && !steps[0].add_prefix_space) {
    return "gpt-2";
  }
  if (steps.size() == 2 && is_plain_byte_level(steps[1])) {
    if (is_split(steps[0], tok::patterns::kQwen2)) return "qwen2";
    if (is_split(steps[0], tok::patterns::kLlama3)) return "llama-bpe";
  }
  if (steps.size() == 4 && is_split(steps[0], tok::patterns::kDigits1to3) &&
      is_split(steps[1], tok::patterns::kDeepSeekV3Cjk) && is_split(steps[2], tok::patterns::kDeepSeekV3Main) &&
      is_plain_byte_level(steps[3])) {
    return "deepseek-v3";
  }
  return "";
}

// The content of tokenizer_config.json's "<typ>_token" (a string or an AddedToken object).
std::optional<std::string> ConfigTokenContent(const json& config, std::string_view typ) {
  const auto it = config.find(std::string(typ) + "_token");
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

std::string_view PreTokenizerCheckText() { return kCheckText; }

Result<PreTokenizerMatch> DetectPreTokenizer(const tok::TokenizerSpec& spec) {
  DV_ASSIGN_OR_RETURN(std::unique_ptr<tok::Tokenizer> tokenizer, tok::Tokenizer::Create(spec));
  tok::EncodeOptions options;
  options.add_special = true;  // HF encode() adds the post-processor's tokens
  options.allow_special = true;
  DV_ASSIGN_OR_RETURN(const std::vector<tok::TokenId> ids, tokenizer->Encode(kCheckText, options));
  std::string text = "[";  // Python's str(list)
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(ids[i]);
  }
  text += "]";
  PreTokenizerMatch match;
  match.hash = Sha256Hex(text);
  for (const KnownHash& k : kKnownHashes) {
    if (k.hash == match.hash) {
      match.name = std::string(k.name);
      match.by_hash = true;
      return match;
    }
  }
  match.name = PreFromDefinition(spec);
  if (match.name.empty()) {
    return NotFound("the BPE pre-tokenizer was not recognised (check-text hash " + match.hash +
                    "); name it with --tokenizer-pre (one of gpt-2, llama-bpe, qwen2, deepseek-r1-qwen, "
                    "deepseek-v3, deepseek-llm, deepseek-coder)");
  }
  return match;
}

Result<GgufVocab> LoadHfVocab(const std::filesystem::path& dir, const VocabOptions& options) {
  std::filesystem::path tokenizer_path = dir / "tokenizer.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(tokenizer_path, ec) &&
      std::filesystem::is_regular_file(dir / "tokenizer.json.gz", ec)) {
    tokenizer_path = dir / "tokenizer.json.gz";
  }
  const std::string where = tokenizer_path.string();
  if (!std::filesystem::is_regular_file(tokenizer_path, ec)) {
    return NotFound(where + " not found (only HF tokenizer.json vocabularies can be converted)");
  }
  DV_ASSIGN_OR_RETURN(const std::string tokenizer_text, tok::ReadTokenizerFile(tokenizer_path, kMaxTokenizerJsonBytes));
  std::string config_text;
  json config = json::object();
  const std::filesystem::path config_path = dir / "tokenizer_config.json";
  if (std::filesystem::is_regular_file(config_path, ec)) {
    DV_ASSIGN_OR_RETURN(config_text, tok::ReadTokenizerFile(config_path, kMaxConfigBytes));
    DV_ASSIGN_OR_RETURN(config, ParseJson(config_text, config_path.string()));
  }
  DV_ASSIGN_OR_RETURN(const json tj, ParseJson(tokenizer_text, where));

  // The model: byte-level BPE only (what llama.cpp's _set_vocab_gpt2 converts).
  const auto model = tj.find("model");
  if (model == tj.end() || !model->is_object()) return InvalidArgument(where + ": missing \"model\" object");
  const std::string model_type = model->value("type", std::string());
  if (model_type != "BPE") {
    return Unimplemented(where + ": tokenizer model \"" + model_type + "\" cannot be converted (byte-level BPE only)");
  }
  auto spec = tok::SpecFromTokenizerJson(tokenizer_text, config_text, where);
  if (!spec.ok()) return std::move(spec).error();
  if (!spec->byte_level) {
    return Unimplemented(where + ": not a byte-level BPE tokenizer (SentencePiece-style tokenizer.json files are "
                                 "not supported by the converter)");
  }

  // id -> token text, and which ids are added tokens.
  std::map<uint64_t, std::string> by_id;
  const auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object()) return InvalidArgument(where + ": model.vocab must be an object");
  for (const auto& [text, id] : vocab->items()) {
    if (!id.is_number_unsigned()) return InvalidArgument(where + ": model.vocab[\"" + text + "\"] is not an id");
    by_id[id.get<uint64_t>()] = text;
  }
  struct Added {
    bool special = false;
  };
  std::map<uint64_t, Added> added;       // by id
  std::map<std::string, uint64_t> added_by_content;
  if (const auto at = tj.find("added_tokens"); at != tj.end() && !at->is_null()) {
    if (!at->is_array()) return InvalidArgument(where + ": \"added_tokens\" must be an array");
    for (const json& t : *at) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_unsigned() || !t.contains("content") ||
          !t["content"].is_string()) {
        return InvalidArgument(where + ": every added token needs an \"id\" and a \"content\"");
      }
      const uint64_t id = t["id"].get<uint64_t>();
      const std::string content = t["content"].get<std::string>();
      by_id[id] = content;
      added[id].special = t.value("special", false);
      added_by_content.emplace(content, id);
    }
  }
  if (by_id.empty()) return InvalidArgument(where + ": empty vocabulary");
  const uint64_t max_id = by_id.rbegin()->first;
  const uint64_t vocab_size = options.vocab_size != 0 ? options.vocab_size : max_id + 1;
  if (vocab_size > kMaxVocab) return InvalidArgument("vocab_size " + std::to_string(vocab_size) + " is too large");
  if (max_id >= vocab_size) {
    return InvalidArgument(where + ": token id " + std::to_string(max_id) + " is not below vocab_size " +
                           std::to_string(vocab_size) + " of config.json");
  }

  GgufVocab out;
  out.tokens.reserve(vocab_size);
  out.token_types.reserve(vocab_size);
  for (uint64_t i = 0; i < vocab_size; ++i) {
    const auto it = by_id.find(i);
    if (it == by_id.end()) {
      out.tokens.push_back("[PAD" + std::to_string(i) + "]");
      out.token_types.push_back(kUnused);
      continue;
    }
    std::string token = it->second;
    const auto a = added_by_content.find(token);
    if (a == added_by_content.end()) {
      out.token_types.push_back(kNormal);
    } else if ((added.count(i) && added[i].special) || LooksSpecial(token)) {
      out.token_types.push_back(kControl);
    } else {
      token = ReplaceAll(std::move(token), "\xE2\x96\x81", " ");  // user-defined tokens are pre-normalized
      out.token_types.push_back(kUserDefined);
    }
    out.tokens.push_back(std::move(token));
  }

  // Merges: "a b" strings, or [a, b] pairs (transformers >= 4.45), whose spaces become U+0120.
  if (const auto m = model->find("merges"); m != model->end() && !m->is_null()) {
    if (!m->is_array()) return InvalidArgument(where + ": model.merges must be an array");
    out.merges.reserve(m->size());
    for (const json& merge : *m) {
      if (merge.is_string()) {
        out.merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        out.merges.push_back(ReplaceAll(merge[0].get<std::string>(), " ", "\xC4\xA0") + " " +
                             ReplaceAll(merge[1].get<std::string>(), " ", "\xC4\xA0"));
      } else {
        return InvalidArgument(where + ": model.merges entries must be strings or pairs of strings");
      }
    }
  }

  // Special token ids: tokenizer_config.json by content among the added tokens, then config.json.
  std::map<std::string, uint32_t> have;
  auto set_special = [&](std::string_view typ, uint64_t id) {
    if (id >= vocab_size || have.count(std::string(typ))) return;
    have[std::string(typ)] = static_cast<uint32_t>(id);
    out.special_ids.emplace_back(std::string(typ), static_cast<uint32_t>(id));
  };
  for (std::string_view typ : kSpecialTypes) {
    const std::optional<std::string> content = ConfigTokenContent(config, typ);
    if (!content) continue;
    if (const auto it = added_by_content.find(*content); it != added_by_content.end()) set_special(typ, it->second);
  }
  if (options.config_bos_id) set_special("bos", *options.config_bos_id);
  if (options.config_eos_id) set_special("eos", *options.config_eos_id);
  if (options.config_pad_id) set_special("pad", *options.config_pad_id);

  // add_bos_token / add_eos_token.
  std::optional<bool> add_bos, add_eos;
  if (const auto it = config.find("add_bos_token"); it != config.end() && it->is_boolean()) add_bos = it->get<bool>();
  if (const auto it = config.find("add_eos_token"); it != config.end() && it->is_boolean()) add_eos = it->get<bool>();
  if (!add_bos || !add_eos) {
    // The TemplateProcessing post-processor: a special token first (BOS) or last (EOS).
    const json* single = nullptr;
    if (const auto pp = tj.find("post_processor"); pp != tj.end() && pp->is_object()) {
      std::vector<const json*> processors = {&*pp};
      if (const auto ps = pp->find("processors"); ps != pp->end() && ps->is_array()) {
        processors.clear();
        for (const json& p : *ps) processors.push_back(&p);
      }
      for (const json* p : processors) {
        if (p->is_object() && p->value("type", std::string()) == "TemplateProcessing" && p->contains("single") &&
            (*p)["single"].is_array()) {
          single = &(*p)["single"];
        }
      }
    }
    if (single != nullptr && single->size() > 1) {
      auto special_id = [&](const json& piece) -> std::optional<std::string> {
        if (!piece.is_object() || !piece.contains("SpecialToken") || !piece["SpecialToken"].is_object()) {
          return std::nullopt;
        }
        const json& st = piece["SpecialToken"];
        if (!st.contains("id") || !st["id"].is_string()) return std::nullopt;
        return st["id"].get<std::string>();
      };
      if (!add_bos) {
        const auto first = special_id(single->front());
        add_bos = first.has_value();
        if (first) {
          if (const auto it = added_by_content.find(*first); it != added_by_content.end()) set_special("bos", it->second);
        }
      }
      if (!add_eos) {
        const auto last = special_id(single->back());
        add_eos = last.has_value();
        if (last) {
          if (const auto it = added_by_content.find(*last); it != added_by_content.end()) set_special("eos", it->second);
        }
      }
    }
  }
  if (add_bos) out.add_special.emplace_back("bos", *add_bos);
  if (add_eos) out.add_special.emplace_back("eos", *add_eos);

  // Chat template.
  if (const auto ct = config.find("chat_template"); ct != config.end() && !ct->is_null()) {
    if (ct->is_string()) {
      out.chat_template = ct->get<std::string>();
    } else if (ct->is_array()) {
      for (const json& t : *ct) {
        if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("template") ||
            !t["template"].is_string()) {
          return InvalidArgument(config_path.string() + ": chat_template entries need \"name\" and \"template\"");
        }
        const std::string name = t["name"].get<std::string>();
        if (name == "default") {
          out.chat_template = t["template"].get<std::string>();
        } else {
          out.named_chat_templates.emplace_back(name, t["template"].get<std::string>());
        }
      }
    } else {
      return InvalidArgument(config_path.string() + ": chat_template must be a string or a list");
    }
  }
  const std::filesystem::path jinja = dir / "chat_template.jinja";
  if (!out.chat_template && std::filesystem::is_regular_file(jinja, ec)) {
    DV_ASSIGN_OR_RETURN(std::string text, tok::ReadTokenizerFile(jinja, kMaxConfigBytes));
    out.chat_template = std::move(text);
  }

  // Pre-tokenizer.
  if (!options.pre_override.empty()) {
    if (std::find(std::begin(kSupportedPre), std::end(kSupportedPre), options.pre_override) == std::end(kSupportedPre)) {
      return InvalidArgument("unknown --tokenizer-pre \"" + options.pre_override +
                             "\" (supported: gpt-2, llama-bpe, smaug-bpe, qwen2, deepseek-r1-qwen, deepseek-v3, "
                             "deepseek-llm, deepseek-coder)");
    }
    out.pre = options.pre_override;
    out.pre_reason = "given with --tokenizer-pre";
  } else {
    auto match = DetectPreTokenizer(*spec);
    if (!match.ok()) return std::move(match).error().AddContext(where);
    out.pre = match->name;
    out.pre_reason = match->by_hash ? "check-text hash " + match->hash
                                    : "pre-tokenizer definition (check-text hash " + match->hash + " is not a known model)";
  }
  return out;
}

Status AddVocabMetadata(const GgufVocab& vocab, gguf::GgufWriter& w) {
  static const std::map<std::string, std::string> kIdKey = {
      {"bos", "bos"}, {"eos", "eos"}, {"unk", "unknown"}, {"sep", "seperator"},
      {"pad", "padding"}, {"cls", "cls"}, {"mask", "mask"}};
  DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "gpt2"));
  DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.pre", vocab.pre));
  DV_RETURN_IF_ERROR(w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(vocab.tokens)));
  DV_RETURN_IF_ERROR(w.AddI32Array("tokenizer.ggml.token_type", vocab.token_types));
  if (!vocab.merges.empty()) {
    DV_RETURN_IF_ERROR(w.AddStringArray("tokenizer.ggml.merges", std::span<const std::string>(vocab.merges)));
  }
  for (const auto& [typ, id] : vocab.special_ids) {
    DV_RETURN_IF_ERROR(w.AddU32("tokenizer.ggml." + kIdKey.at(typ) + "_token_id", id));
  }
  for (const auto& [typ, value] : vocab.add_special) {
    DV_RETURN_IF_ERROR(w.AddBool("tokenizer.ggml.add_" + typ + "_token", value));
  }
  for (const auto& [name, text] : vocab.named_chat_templates) {
    DV_RETURN_IF_ERROR(w.AddString("tokenizer.chat_template." + name, text));
  }
  if (vocab.chat_template) DV_RETURN_IF_ERROR(w.AddString("tokenizer.chat_template", *vocab.chat_template));
  return Status::Ok();
}

}  // namespace dv::convert
