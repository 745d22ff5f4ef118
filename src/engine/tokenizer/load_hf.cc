#include "engine/tokenizer/load_hf.h"

#include <zlib.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::tok {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxTokenizerJsonBytes = size_t{512} << 20;

bool Flag(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw std::runtime_error(std::string("\"") + key + "\" must be true or false");
  return j[key].get<bool>();
}

std::string Str(const json& j, const char* key, const std::string& fallback = "") {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw std::runtime_error(std::string("\"") + key + "\" must be a string");
  return j[key].get<std::string>();
}

std::string TypeOf(const json& j) {
  if (!j.is_object()) throw std::runtime_error("expected an object with a \"type\"");
  return Str(j, "type");
}

// {"String": "x"} or {"Regex": "x"}; sets *is_regex.
std::string PatternOf(const json& j, bool* is_regex) {
  if (!j.contains("pattern") || !j["pattern"].is_object()) throw std::runtime_error("missing \"pattern\" object");
  const json& p = j["pattern"];
  if (p.contains("Regex")) {
    *is_regex = true;
    return p["Regex"].get<std::string>();
  }
  if (p.contains("String")) {
    *is_regex = false;
    return p["String"].get<std::string>();
  }
  throw std::runtime_error("\"pattern\" must hold \"String\" or \"Regex\"");
}

Status Unsupported(const std::string& what) { return Unimplemented(what + " is not supported"); }

Status ParseNormalizer(const json& j, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return Status::Ok();
  const std::string type = TypeOf(j);
  NormalizerStep s;
  using K = NormalizerStep::Kind;
  if (type == "Sequence") {
    for (const json& sub : j.at("normalizers")) DV_RETURN_IF_ERROR(ParseNormalizer(sub, out));
    return Status::Ok();
  } else if (type == "NFC") {
    s.kind = K::kNfc;
  } else if (type == "NFKC") {
    s.kind = K::kNfkc;
  } else if (type == "NFD") {
    s.kind = K::kNfd;
  } else if (type == "NFKD") {
    s.kind = K::kNfkd;
  } else if (type == "Lowercase") {
    s.kind = K::kLowercase;
  } else if (type == "StripAccents") {
    s.kind = K::kStripAccents;
  } else if (type == "Replace") {
    bool is_regex = false;
    s.kind = K::kReplace;
    s.pattern = PatternOf(j, &is_regex);
    if (is_regex) return Unsupported("normalizer Replace with a Regex pattern");
    s.content = Str(j, "content");
  } else if (type == "Prepend") {
    s.kind = K::kPrepend;
    s.content = Str(j, "prepend");
  } else if (type == "Strip") {
    s.kind = K::kStrip;
    s.left = Flag(j, "strip_left", true);
    s.right = Flag(j, "strip_right", true);
  } else if (type == "BertNormalizer") {
    s.kind = K::kBert;
    s.clean_text = Flag(j, "clean_text", true);
    s.handle_chinese_chars = Flag(j, "handle_chinese_chars", true);
    s.lowercase = Flag(j, "lowercase", true);
    s.strip_accents = Flag(j, "strip_accents", s.lowercase);
  } else {
    return Unsupported("normalizer \"" + type + "\"");
  }
  out.push_back(std::move(s));
  return Status::Ok();
}

Result<SplitBehavior> BehaviorOf(const std::string& b) {
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return InvalidArgument("unknown split behavior \"" + b + "\"");
}

Result<PreTokenizerStep::PrependScheme> PrependSchemeOf(const json& j) {
  using P = PreTokenizerStep::PrependScheme;
  if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
    const std::string s = Str(j, "prepend_scheme");
    if (s == "always") return P::kAlways;
    if (s == "first") return P::kFirst;
    if (s == "never") return P::kNever;
    return InvalidArgument("unknown Metaspace prepend_scheme \"" + s + "\"");
  }
  return Flag(j, "add_prefix_space", true) ? P::kAlways : P::kNever;
}

Status ParsePreTokenizer(const json& j, TokenizerSpec& spec) {
  if (j.is_null()) return Status::Ok();
  const std::string type = TypeOf(j);
  PreTokenizerStep s;
  using K = PreTokenizerStep::Kind;
  if (type == "Sequence") {
    for (const json& sub : j.at("pretokenizers")) DV_RETURN_IF_ERROR(ParsePreTokenizer(sub, spec));
    return Status::Ok();
  } else if (type == "Split") {
    s.kind = K::kSplit;
    s.pattern = PatternOf(j, &s.pattern_is_regex);
    DV_ASSIGN_OR_RETURN(s.behavior, BehaviorOf(Str(j, "behavior", "Isolated")));
    s.invert = Flag(j, "invert", false);
  } else if (type == "ByteLevel") {
    s.kind = K::kByteLevel;
    s.add_prefix_space = Flag(j, "add_prefix_space", true);
    s.use_regex = Flag(j, "use_regex", true);
    spec.byte_level = true;
  } else if (type == "Digits") {
    s.kind = K::kDigits;
    s.individual_digits = Flag(j, "individual_digits", false);
  } else if (type == "Metaspace") {
    s.kind = K::kMetaspace;
    s.replacement = Str(j, "replacement", "\xE2\x96\x81");
    DV_ASSIGN_OR_RETURN(s.prepend_scheme, PrependSchemeOf(j));
    s.split = Flag(j, "split", true);
  } else if (type == "Whitespace") {
    s.kind = K::kWhitespace;
  } else if (type == "WhitespaceSplit") {
    s.kind = K::kWhitespaceSplit;
  } else if (type == "Punctuation") {
    s.kind = K::kPunctuation;
    if (Str(j, "behavior", "Isolated") != "Isolated") return Unsupported("Punctuation behavior other than Isolated");
  } else if (type == "BertPreTokenizer") {
    s.kind = K::kBert;
  } else {
    return Unsupported("pre-tokenizer \"" + type + "\"");
  }
  spec.pre_tokenizers.push_back(std::move(s));
  return Status::Ok();
}

Status ParseDecoder(const json& j, std::vector<DecoderStep>& out) {
  if (j.is_null()) return Status::Ok();
  const std::string type = TypeOf(j);
  DecoderStep d;
  using K = DecoderStep::Kind;
  if (type == "Sequence") {
    for (const json& sub : j.at("decoders")) DV_RETURN_IF_ERROR(ParseDecoder(sub, out));
    return Status::Ok();
  } else if (type == "ByteLevel") {
    d.kind = K::kByteLevel;
  } else if (type == "Metaspace") {
    d.kind = K::kMetaspace;
    d.replacement = Str(j, "replacement", "\xE2\x96\x81");
    DV_ASSIGN_OR_RETURN(auto scheme, PrependSchemeOf(j));
    d.add_prefix_space = scheme != PreTokenizerStep::PrependScheme::kNever;
  } else if (type == "ByteFallback") {
    d.kind = K::kByteFallback;
  } else if (type == "Fuse") {
    d.kind = K::kFuse;
  } else if (type == "Strip") {
    d.kind = K::kStrip;
    d.content = Str(j, "content", " ");
    d.start = j.value("start", 0);
    d.stop = j.value("stop", 0);
    if (d.start < 0 || d.start > 64 || d.stop < 0 || d.stop > 64) return InvalidArgument("Strip decoder start/stop out of range");
  } else if (type == "WordPiece") {
    d.kind = K::kWordPiece;
    d.prefix = Str(j, "prefix", "##");
  } else if (type == "Replace") {
    bool is_regex = false;
    d.kind = K::kReplace;
    d.pattern = PatternOf(j, &is_regex);
    if (is_regex) return Unsupported("decoder Replace with a Regex pattern");
    d.content = Str(j, "content");
  } else {
    return Unsupported("decoder \"" + type + "\"");
  }
  out.push_back(std::move(d));
  return Status::Ok();
}

// Resolves a token text to an id through the added tokens and the vocabulary.
std::optional<TokenId> Lookup(const TokenizerSpec& spec, const std::map<std::string, TokenId, std::less<>>& ids,
                              std::string_view text) {
  for (const AddedToken& t : spec.added_tokens) {
    if (t.content == text) return t.id;
  }
  auto it = ids.find(text);
  if (it != ids.end()) return it->second;
  return std::nullopt;
}

Status ParsePostProcessor(const json& j, TokenizerSpec& spec, bool* defined) {
  if (j.is_null()) return Status::Ok();
  const std::string type = TypeOf(j);
  if (type == "Sequence") {
    for (const json& sub : j.at("processors")) DV_RETURN_IF_ERROR(ParsePostProcessor(sub, spec, defined));
  } else if (type == "ByteLevel") {
    // Offsets only.
  } else if (type == "TemplateProcessing") {
    *defined = true;
    const json& specials = j.at("special_tokens");
    bool after_sequence = false;
    for (const json& piece : j.at("single")) {
      if (piece.contains("Sequence")) {
        after_sequence = true;
        continue;
      }
      const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      if (!specials.contains(name)) return InvalidArgument("TemplateProcessing uses undefined special token \"" + name + "\"");
      for (const json& id : specials[name].at("ids")) {
        (after_sequence ? spec.suffix_ids : spec.prefix_ids).push_back(id.get<TokenId>());
      }
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    *defined = true;
    spec.prefix_ids.push_back(j.at("cls").at(1).get<TokenId>());
    spec.suffix_ids.push_back(j.at("sep").at(1).get<TokenId>());
  } else {
    return Unsupported("post-processor \"" + type + "\"");
  }
  return Status::Ok();
}

std::string TokenContent(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j["content"].get<std::string>();
  return "";
}

Status ParseModel(const json& m, TokenizerSpec& spec, std::map<std::string, TokenId, std::less<>>& ids) {
  std::string type = Str(m, "type");
  if (type.empty()) type = m.contains("merges") ? "BPE" : (m.contains("vocab") && m["vocab"].is_object() ? "WordPiece" : "");
  if (type == "BPE") {
    spec.model = ModelType::kBpe;
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() > 0) {
      return Unsupported("BPE dropout");
    }
    if (!Str(m, "continuing_subword_prefix").empty() || !Str(m, "end_of_word_suffix").empty()) {
      return Unsupported("BPE continuing_subword_prefix/end_of_word_suffix");
    }
    spec.byte_fallback = Flag(m, "byte_fallback", false);
    spec.ignore_merges = Flag(m, "ignore_merges", false);
    spec.fuse_unk = Flag(m, "fuse_unk", false);
  } else if (type == "WordPiece") {
    spec.model = ModelType::kWordPiece;
    spec.continuing_subword_prefix = Str(m, "continuing_subword_prefix", "##");
    spec.max_input_chars_per_word = m.value("max_input_chars_per_word", 100);
  } else {
    return Unsupported("model \"" + type + "\"");
  }
  const json& vocab = m.at("vocab");
  if (!vocab.is_object()) return InvalidArgument("model.vocab must be an object of token → id");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) return InvalidArgument("vocab id of \"" + utf8::Sanitize(it.key()) + "\" is not an integer");
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(Tokenizer::kMaxVocab)) {
      return InvalidArgument("vocab id " + std::to_string(id) + " of \"" + utf8::Sanitize(it.key()) + "\" is out of range");
    }
    ids.emplace(it.key(), static_cast<TokenId>(id));
  }
  if (spec.model == ModelType::kBpe && m.contains("merges")) {
    const json& merges = m["merges"];
    spec.merges.reserve(merges.size());
    for (const json& mg : merges) {
      if (mg.is_string()) {
        const std::string s = mg.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
          return InvalidArgument("merge \"" + utf8::Sanitize(s) + "\" is not two tokens separated by one space");
        }
        spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
        spec.merges.emplace_back(mg[0].get<std::string>(), mg[1].get<std::string>());
      } else {
        return InvalidArgument("a merge must be \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  const std::string unk = Str(m, "unk_token");
  if (!unk.empty()) {
    auto it = ids.find(unk);
    if (it == ids.end()) return InvalidArgument("unk_token \"" + utf8::Sanitize(unk) + "\" is not in the vocabulary");
    spec.unk_id = it->second;
  }
  return Status::Ok();
}

Status Parse(const json& root, const json* config, TokenizerSpec& spec) {
  if (!root.is_object()) return InvalidArgument("top level is not an object");
  std::map<std::string, TokenId, std::less<>> ids;
  DV_RETURN_IF_ERROR(ParseModel(root.at("model"), spec, ids).AddContext("in \"model\""));

  if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
    for (const json& a : root["added_tokens"]) {
      AddedToken t;
      const int64_t id = a.at("id").get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(Tokenizer::kMaxVocab)) {
        return InvalidArgument("added token id " + std::to_string(id) + " is out of range");
      }
      t.id = static_cast<TokenId>(id);
      t.content = a.at("content").get<std::string>();
      t.special = Flag(a, "special", false);
      t.lstrip = Flag(a, "lstrip", false);
      t.rstrip = Flag(a, "rstrip", false);
      t.single_word = Flag(a, "single_word", false);
      spec.added_tokens.push_back(std::move(t));
    }
  }

  // Dense id → token table covering the vocabulary and the added tokens.
  size_t size = 0;
  for (const auto& [text, id] : ids) size = std::max(size, static_cast<size_t>(id) + 1);
  for (const AddedToken& t : spec.added_tokens) size = std::max(size, static_cast<size_t>(t.id) + 1);
  spec.tokens.assign(size, std::string());
  spec.attrs.assign(size, TokenAttr::kUnused);
  for (const auto& [text, id] : ids) {
    if (spec.attrs[id] != TokenAttr::kUnused) {
      return InvalidArgument("vocab id " + std::to_string(id) + " is used by two tokens");
    }
    spec.tokens[id] = text;
    spec.attrs[id] = TokenAttr::kNormal;
  }
  for (const AddedToken& t : spec.added_tokens) {
    spec.tokens[t.id] = t.content;
    spec.attrs[t.id] = t.special ? TokenAttr::kControl : TokenAttr::kUserDefined;
  }
  if (spec.unk_id) spec.attrs[*spec.unk_id] = TokenAttr::kUnknown;

  const json null_json;
  DV_RETURN_IF_ERROR(ParseNormalizer(root.value("normalizer", null_json), spec.normalizers).AddContext("in \"normalizer\""));
  DV_RETURN_IF_ERROR(ParsePreTokenizer(root.value("pre_tokenizer", null_json), spec).AddContext("in \"pre_tokenizer\""));
  DV_RETURN_IF_ERROR(ParseDecoder(root.value("decoder", null_json), spec.decoders).AddContext("in \"decoder\""));
  bool template_defined = false;
  DV_RETURN_IF_ERROR(
      ParsePostProcessor(root.value("post_processor", null_json), spec, &template_defined).AddContext("in \"post_processor\""));

  if (config != nullptr && config->is_object()) {
    const std::string bos = config->contains("bos_token") ? TokenContent((*config)["bos_token"]) : "";
    const std::string eos = config->contains("eos_token") ? TokenContent((*config)["eos_token"]) : "";
    const std::string pad = config->contains("pad_token") ? TokenContent((*config)["pad_token"]) : "";
    if (!bos.empty()) spec.bos_id = Lookup(spec, ids, bos);
    if (!eos.empty()) spec.eos_id = Lookup(spec, ids, eos);
    if (!pad.empty()) spec.pad_id = Lookup(spec, ids, pad);
    if (!template_defined) {
      if (Flag(*config, "add_bos_token", false) && spec.bos_id) spec.prefix_ids.push_back(*spec.bos_id);
      if (Flag(*config, "add_eos_token", false) && spec.eos_id) spec.suffix_ids.push_back(*spec.eos_id);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<TokenizerSpec> SpecFromTokenizerJson(std::string_view tokenizer_json, std::string_view config_json,
                                            std::string source_name) {
  TokenizerSpec spec;
  spec.source_name = std::move(source_name);
  try {
    const json root = json::parse(tokenizer_json);
    json config;
    if (!config_json.empty()) config = json::parse(config_json);
    Status s = Parse(root, config_json.empty() ? nullptr : &config, spec);
    if (!s.ok()) return std::move(s.AddContext("reading " + spec.source_name));
  } catch (const std::exception& e) {
    return InvalidArgument("malformed tokenizer.json " + spec.source_name + ": " + e.what());
  }
  return spec;
}

Result<std::string> ReadTokenizerFile(const std::filesystem::path& path, size_t max_bytes) {
  const std::string name = path.string();
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) {
    gzFile f = gzopen(name.c_str(), "rb");
    if (f == nullptr) return NotFound("cannot open " + name);
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > max_bytes) {
        gzclose(f);
        return PayloadTooLarge(name + " decompresses to more than " + std::to_string(max_bytes) + " bytes");
      }
    }
    const bool failed = n < 0;
    gzclose(f);
    if (failed) return DataLoss("corrupt gzip data in " + name);
    return out;
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound("cannot read " + name + ": " + ec.message());
  if (size > max_bytes) return PayloadTooLarge(name + " is " + std::to_string(size) + " bytes, above the limit of " + std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + name);
  std::string out(static_cast<size_t>(size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(size));
  if (!in) return DataLoss("short read from " + name);
  return out;
}

Result<TokenizerSpec> LoadTokenizerJsonSpec(const std::filesystem::path& path) {
  DV_ASSIGN_OR_RETURN(std::string text, ReadTokenizerFile(path, kMaxTokenizerJsonBytes));
  std::string config;
  const auto config_path = path.parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::exists(config_path, ec)) {
    DV_ASSIGN_OR_RETURN(config, ReadTokenizerFile(config_path, size_t{64} << 20));
  }
  return SpecFromTokenizerJson(text, config, path.string());
}

}  // namespace dv::tok
