#include "engine/tokenizer/load_gguf.h"

#include <string>

#include "common/utf8.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::tok {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // ▁

PreTokenizerStep SplitStep(std::string_view pattern) {
  PreTokenizerStep s;
  s.kind = PreTokenizerStep::Kind::kSplit;
  s.pattern = std::string(pattern);
  s.behavior = SplitBehavior::kIsolated;
  return s;
}

// Pre-tokenizer of a byte-level vocabulary, by `tokenizer.ggml.pre` (the regexes are the ones in
// each model's tokenizer.json).
Status ByteLevelPreTokenizer(std::string_view pre, TokenizerSpec& spec) {
  auto& steps = spec.pre_tokenizers;
  if (pre.empty() || pre == "default" || pre == "gpt2" || pre == "gpt-2") {
    PreTokenizerStep b;
    b.kind = PreTokenizerStep::Kind::kByteLevel;
    b.use_regex = true;
    steps.push_back(b);
    return Status::Ok();
  }
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3" || pre == "dbrx" || pre == "smaug-bpe") {
    steps.push_back(SplitStep(patterns::kLlama3));
    spec.ignore_merges = true;
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    steps.push_back(SplitStep(patterns::kQwen2));
  } else if (pre == "deepseek-v3") {
    steps.push_back(SplitStep(patterns::kDigits1to3));
    steps.push_back(SplitStep(patterns::kDeepSeekV3Cjk));
    steps.push_back(SplitStep(patterns::kDeepSeekV3Main));
  } else if (pre == "deepseek-llm") {
    steps.push_back(SplitStep("[\r\n]"));
    steps.push_back(SplitStep(
        "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-"
        "\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481"
        "\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-"
        "\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57"
        "\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-"
        "\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-"
        "\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184"
        "\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-"
        "\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-"
        "\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2"
        "\U000118a0-\U000118df\U0001e900-\U0001e943]+"));
    steps.push_back(SplitStep("\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+"));
    steps.push_back(SplitStep("\\s+$"));
    steps.push_back(SplitStep("[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"));
    steps.push_back(SplitStep("\\p{N}+"));
  } else if (pre == "deepseek-coder") {
    steps.push_back(SplitStep("[\r\n]"));
    steps.push_back(SplitStep("\\s?\\p{L}+"));
    steps.push_back(SplitStep("\\s?\\p{P}+"));
    steps.push_back(SplitStep("[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"));
    steps.push_back(SplitStep("\\p{N}"));
  } else {
    return Unimplemented("GGUF pre-tokenizer \"" + std::string(pre) + "\" is not supported");
  }
  PreTokenizerStep b;
  b.kind = PreTokenizerStep::Kind::kByteLevel;
  b.use_regex = false;
  steps.push_back(b);
  return Status::Ok();
}

std::optional<TokenId> OptionalId(const gguf::GgufFile& f, std::string_view key) {
  auto v = f.GetUnsigned(key);
  if (!v.ok()) return std::nullopt;
  if (*v > static_cast<uint64_t>(INT32_MAX)) return std::nullopt;  // llama.cpp writes 0xFFFFFFFF for "none"
  return static_cast<TokenId>(*v);
}

bool OptionalBool(const gguf::GgufFile& f, std::string_view key, bool fallback) {
  auto v = f.GetBool(key);
  return v.ok() ? *v : fallback;
}

}  // namespace

Result<TokenizerSpec> SpecFromGguf(const gguf::GgufFile& f) {
  TokenizerSpec spec;
  spec.source_name = f.path();
  auto ctx = [&](Status s) { return std::move(s.AddContext("reading the tokenizer of " + f.path())); };

  auto model_r = f.GetString("tokenizer.ggml.model");
  if (!model_r.ok()) return ctx(model_r.status());
  const std::string model(*model_r);
  auto tokens_r = f.GetStringArray("tokenizer.ggml.tokens");
  if (!tokens_r.ok()) return ctx(tokens_r.status());
  const auto& tokens = *tokens_r;
  if (tokens.empty()) return ctx(InvalidArgument("tokenizer.ggml.tokens is empty"));
  if (tokens.size() > Tokenizer::kMaxVocab) {
    return ctx(InvalidArgument("tokenizer.ggml.tokens has " + std::to_string(tokens.size()) + " entries, above the limit of " +
                               std::to_string(Tokenizer::kMaxVocab)));
  }
  spec.tokens.assign(tokens.begin(), tokens.end());

  if (f.Has("tokenizer.ggml.scores")) {
    auto scores = f.GetF32Array("tokenizer.ggml.scores");
    if (!scores.ok()) return ctx(scores.status());
    spec.scores = std::move(scores).value();
  }
  if (f.Has("tokenizer.ggml.token_type")) {
    auto types = f.GetI32Array("tokenizer.ggml.token_type");
    if (!types.ok()) return ctx(types.status());
    if (types->size() != spec.tokens.size()) {
      return ctx(InvalidArgument("tokenizer.ggml.token_type has " + std::to_string(types->size()) + " entries for " +
                                 std::to_string(spec.tokens.size()) + " tokens"));
    }
    spec.attrs.reserve(types->size());
    for (size_t i = 0; i < types->size(); ++i) {
      const int32_t t = (*types)[i];
      if (t < 1 || t > 6) {
        return ctx(InvalidArgument("token " + std::to_string(i) + " has token type " + std::to_string(t) +
                                   " (expected 1..6)"));
      }
      spec.attrs.push_back(static_cast<TokenAttr>(t));
    }
  }

  spec.bos_id = OptionalId(f, "tokenizer.ggml.bos_token_id");
  spec.eos_id = OptionalId(f, "tokenizer.ggml.eos_token_id");
  spec.pad_id = OptionalId(f, "tokenizer.ggml.padding_token_id");
  spec.unk_id = OptionalId(f, "tokenizer.ggml.unknown_token_id");

  if (model == "gpt2") {
    spec.model = ModelType::kBpe;
    spec.byte_level = true;
    auto merges = f.GetStringArray("tokenizer.ggml.merges");
    if (!merges.ok()) return ctx(merges.status());
    spec.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const std::string_view m = (*merges)[i];
      const size_t sp = m.find(' ', 1);
      if (sp == std::string_view::npos) {
        return ctx(InvalidArgument("merge #" + std::to_string(i) + " \"" + utf8::Sanitize(m.substr(0, 64)) +
                                   "\" has no space between its two tokens"));
      }
      spec.merges.emplace_back(std::string(m.substr(0, sp)), std::string(m.substr(sp + 1)));
    }
    std::string pre;
    if (auto p = f.GetString("tokenizer.ggml.pre"); p.ok()) pre = std::string(*p);
    DV_RETURN_IF_ERROR(ctx(ByteLevelPreTokenizer(pre, spec)));
    spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kByteLevel});
    spec.unk_id.reset();  // byte-level vocabularies encode every byte
  } else if (model == "llama") {
    spec.model = ModelType::kBpe;
    spec.byte_fallback = true;
    if (spec.scores.size() != spec.tokens.size()) {
      return ctx(InvalidArgument("SentencePiece vocabulary needs one score per token (tokenizer.ggml.scores)"));
    }
    const bool add_space_prefix = OptionalBool(f, "tokenizer.ggml.add_space_prefix", true);
    if (add_space_prefix) {
      spec.normalizers.push_back(NormalizerStep{.kind = NormalizerStep::Kind::kPrepend, .content = std::string(kSpace)});
    }
    spec.normalizers.push_back(
        NormalizerStep{.kind = NormalizerStep::Kind::kReplace, .pattern = " ", .content = std::string(kSpace)});
    spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kReplace, .pattern = std::string(kSpace), .content = " "});
    spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kByteFallback});
    spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kFuse});
    if (add_space_prefix) {
      spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kStrip, .content = " ", .start = 1});
    }
  } else if (model == "bert") {
    spec.model = ModelType::kWordPiece;
    if (!spec.unk_id) return ctx(InvalidArgument("WordPiece vocabulary without tokenizer.ggml.unknown_token_id"));
    for (size_t i = 0; i < spec.tokens.size(); ++i) {
      const TokenAttr a = spec.attrs.empty() ? TokenAttr::kNormal : spec.attrs[i];
      if (a != TokenAttr::kNormal) continue;
      std::string& t = spec.tokens[i];
      if (t.compare(0, kSpace.size(), kSpace) == 0 && t.size() > kSpace.size()) {
        t.erase(0, kSpace.size());
      } else {
        t.insert(0, "##");
      }
    }
    spec.normalizers.push_back(NormalizerStep{.kind = NormalizerStep::Kind::kBert});
    spec.pre_tokenizers.push_back(PreTokenizerStep{.kind = PreTokenizerStep::Kind::kBert});
    spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kWordPiece});
    const auto cls = OptionalId(f, "tokenizer.ggml.cls_token_id");
    const auto sep = OptionalId(f, "tokenizer.ggml.seperator_token_id");
    if (cls) spec.prefix_ids.push_back(*cls);
    if (sep) spec.suffix_ids.push_back(*sep);
  } else {
    return ctx(Unimplemented("tokenizer model \"" + model + "\" is not supported (gpt2, llama and bert are)"));
  }

  if (model != "bert") {
    if (OptionalBool(f, "tokenizer.ggml.add_bos_token", model == "llama") && spec.bos_id) {
      spec.prefix_ids.push_back(*spec.bos_id);
    }
    if (OptionalBool(f, "tokenizer.ggml.add_eos_token", false) && spec.eos_id) spec.suffix_ids.push_back(*spec.eos_id);
  }

  // Control and user-defined tokens are matched verbatim in the input.
  for (size_t i = 0; i < spec.attrs.size(); ++i) {
    const TokenAttr a = spec.attrs[i];
    if (a != TokenAttr::kControl && a != TokenAttr::kUserDefined) continue;
    if (spec.tokens[i].empty() || !utf8::IsValid(spec.tokens[i])) continue;
    AddedToken t;
    t.content = spec.tokens[i];
    t.id = static_cast<TokenId>(i);
    t.special = a == TokenAttr::kControl;
    spec.added_tokens.push_back(std::move(t));
  }
  return spec;
}

Result<TokenizerSpec> LoadGgufSpec(const std::filesystem::path& path) {
  DV_ASSIGN_OR_RETURN(auto file, gguf::GgufFile::Open(path));
  return SpecFromGguf(file);
}

}  // namespace dv::tok
