// Hostile or broken tokenizer definitions must fail to load with a specific message, never crash
// or produce a tokenizer that silently drops text.
#include <gtest/gtest.h>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/load_gguf.h"
#include "engine/tokenizer/load_hf.h"
#include "engine/tokenizer/tokenizer.h"
#include "test_util.h"

namespace dv::tok {
namespace {

// Expects `status` to be an error whose description contains `needle`.
void ExpectError(const Status& status, const std::string& needle) {
  ASSERT_FALSE(status.ok()) << "expected an error mentioning \"" << needle << "\"";
  EXPECT_NE(status.Describe().find(needle), std::string::npos) << status.Describe();
}

TokenizerSpec SpmSpec() {
  TokenizerSpec spec;
  spec.model = ModelType::kBpe;
  spec.byte_fallback = true;
  spec.tokens = {"<unk>", "<0x41>", "\xE2\x96\x81", "a", "b", "ab"};
  spec.scores = {0, 0, -1, -2, -3, -0.5f};
  spec.attrs = {TokenAttr::kUnknown, TokenAttr::kByte, TokenAttr::kNormal, TokenAttr::kNormal, TokenAttr::kNormal,
                TokenAttr::kNormal};
  spec.unk_id = 0;
  return spec;
}

TEST(TokenizerHostile, SentencePieceSpecWorks) {
  auto tok = Tokenizer::Create(SpmSpec());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto ids = (*tok)->Encode("abA?");
  ASSERT_TRUE(ids.ok());
  // "ab" merges by score; 'A' has no token but a byte token; '?' has neither → unk.
  EXPECT_EQ(*ids, (std::vector<TokenId>{5, 1, 0}));
}

TEST(TokenizerHostile, MalformedByteTokens) {
  for (const char* bad : {"<0x-1>", "<0xZZ>", "<0x4>", "<0x4142>"}) {
    TokenizerSpec spec = SpmSpec();
    spec.tokens[1] = bad;
    ExpectError(Tokenizer::Create(spec).status(), bad);
  }
}

TokenizerSpec ByteLevelSpec() {
  TokenizerSpec spec;
  spec.model = ModelType::kBpe;
  spec.byte_level = true;
  for (int b = 0; b < 256; ++b) {
    std::string t;
    byte_level::Encode(std::string(1, static_cast<char>(b)), t);
    spec.tokens.push_back(t);
  }
  spec.tokens.push_back("ab");
  spec.merges = {{"a", "b"}};
  return spec;
}

TEST(TokenizerHostile, MergesReferringToUnknownTokens) {
  TokenizerSpec spec = ByteLevelSpec();
  spec.merges.push_back({"zz", "b"});
  ExpectError(Tokenizer::Create(spec).status(), "unknown token \"zz\"");
  spec = ByteLevelSpec();
  spec.merges.push_back({"a", "c"});  // "ac" is no token
  ExpectError(Tokenizer::Create(spec).status(), "not in the vocabulary");
}

TEST(TokenizerHostile, ByteLevelVocabularyMissingAByte) {
  TokenizerSpec spec = ByteLevelSpec();
  spec.tokens[0x41] = "[gone]";
  ExpectError(Tokenizer::Create(spec).status(), "no token for byte 0x41");
}

TEST(TokenizerHostile, IdsOutOfRange) {
  TokenizerSpec spec = ByteLevelSpec();
  spec.bos_id = 1 << 30;
  ExpectError(Tokenizer::Create(spec).status(), "bos id 1073741824 is outside the vocabulary");
  spec = ByteLevelSpec();
  spec.added_tokens.push_back({.content = "<x>", .id = -3});
  ExpectError(Tokenizer::Create(spec).status(), "added token id -3");
  spec = ByteLevelSpec();
  spec.prefix_ids = {257};
  ExpectError(Tokenizer::Create(spec).status(), "prefix id 257");
}

TEST(TokenizerHostile, AbsurdSizes) {
  TokenizerSpec spec = ByteLevelSpec();
  spec.scores.assign(3, 0.0f);
  ExpectError(Tokenizer::Create(spec).status(), "3 scores for 257 tokens");
  spec = ByteLevelSpec();
  spec.tokens.resize(Tokenizer::kMaxVocab + 1);
  ExpectError(Tokenizer::Create(spec).status(), "exceeds the limit");
  spec = ByteLevelSpec();
  spec.tokens.clear();
  ExpectError(Tokenizer::Create(spec).status(), "empty");
}

TEST(TokenizerHostile, BadPreTokenizerRegex) {
  TokenizerSpec spec = ByteLevelSpec();
  spec.pre_tokenizers.push_back(PreTokenizerStep{.kind = PreTokenizerStep::Kind::kSplit, .pattern = "[a-"});
  ExpectError(Tokenizer::Create(spec).status(), "cannot compile split regex");
}

// Minimal valid tokenizer.json with a BPE model over "a", "b", "ab".
std::string Json(const std::string& model_extra, const std::string& vocab = R"({"a": 0, "b": 1, "ab": 2})",
                 const std::string& merges = R"(["a b"])", const std::string& rest = "") {
  return R"({"model": {"type": "BPE", "vocab": )" + vocab + R"(, "merges": )" + merges + model_extra + "}" + rest + "}";
}

Status LoadJson(const std::string& text) {
  auto spec = SpecFromTokenizerJson(text, "", "test.json");
  if (!spec.ok()) return spec.status();
  return Tokenizer::Create(std::move(spec).value()).status();
}

TEST(TokenizerHostile, TokenizerJson) {
  EXPECT_TRUE(LoadJson(Json("")).ok()) << LoadJson(Json("")).ToString();
  ExpectError(LoadJson("{\"model\": "), "malformed tokenizer.json");
  ExpectError(LoadJson("[1, 2]"), "top level is not an object");
  ExpectError(LoadJson(Json("", R"({"a": -5, "b": 1, "ab": 2})")), "vocab id -5");
  ExpectError(LoadJson(Json("", R"({"a": 1000000000000, "b": 1, "ab": 2})")), "out of range");
  ExpectError(LoadJson(Json("", R"({"a": "zero", "b": 1, "ab": 2})")), "not an integer");
  ExpectError(LoadJson(Json("", R"({"a": 0, "b": 0, "ab": 2})")), "used by two tokens");
  ExpectError(LoadJson(Json("", R"({"a": 0, "b": 1, "ab": 2})", R"(["a b c"])")), "not two tokens");
  ExpectError(LoadJson(Json("", R"({"a": 0, "b": 1, "ab": 2})", R"(["a q"])")), "unknown token \"q\"");
  ExpectError(LoadJson(Json(", \"unk_token\": \"<unk>\"")), "unk_token \"<unk>\" is not in the vocabulary");
  ExpectError(LoadJson(R"({"model": {"type": "Unigram", "vocab": []}})"), "model \"Unigram\" is not supported");
  ExpectError(LoadJson(Json("", R"({"a": 0, "b": 1, "ab": 2})", R"(["a b"])",
                            R"(, "pre_tokenizer": {"type": "CharDelimiterSplit"})")),
              "pre-tokenizer \"CharDelimiterSplit\" is not supported");
  ExpectError(LoadJson(Json("", R"({"a": 0, "b": 1, "ab": 2})", R"(["a b"])",
                            R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"})")),
              "cannot compile split regex");
  ExpectError(LoadJson(Json("", R"({"a": 0, "b": 1, "ab": 2})", R"(["a b"])",
                            R"(, "added_tokens": [{"id": 99999999999, "content": "x"}])")),
              "added token id 99999999999 is out of range");
}

// Writes a GGUF with the given tokenizer keys and loads it.
template <typename Fill>
Status LoadGguf(Fill fill) {
  dv::testing::TempDir dir;
  gguf::GgufWriter w;
  Status s = fill(w);
  if (!s.ok()) return s;
  const auto path = dir.path() / "vocab.gguf";
  DV_RETURN_IF_ERROR(w.WriteToFile(path));
  auto spec = LoadGgufSpec(path);
  if (!spec.ok()) return spec.status();
  return Tokenizer::Create(std::move(spec).value()).status();
}

const std::vector<std::string> kSpmTokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a"};

TEST(TokenizerHostile, Gguf) {
  auto base = [](gguf::GgufWriter& w) {
    DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "llama"));
    DV_RETURN_IF_ERROR(w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(kSpmTokens)));
    const std::vector<float> scores = {0, 0, 0, -1, -2};
    return w.AddF32Array("tokenizer.ggml.scores", scores);
  };
  EXPECT_TRUE(LoadGguf(base).ok()) << LoadGguf(base).ToString();

  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(base(w));
                const std::vector<int32_t> types = {2, 3, 3};
                return w.AddI32Array("tokenizer.ggml.token_type", types);
              }),
              "token_type has 3 entries for 5 tokens");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(base(w));
                const std::vector<int32_t> types = {2, 3, 3, 1, 9};
                return w.AddI32Array("tokenizer.ggml.token_type", types);
              }),
              "token 4 has token type 9");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(base(w));
                return w.AddU32("tokenizer.ggml.bos_token_id", 77);
              }),
              "bos id 77 is outside the vocabulary");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "llama"));
                return w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(kSpmTokens));
              }),
              "needs one score per token");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "t5"));
                return w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(kSpmTokens));
              }),
              "tokenizer model \"t5\" is not supported");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) { return w.AddString("tokenizer.ggml.model", "gpt2"); }),
              "tokenizer.ggml.tokens");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "gpt2"));
                return w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(kSpmTokens));
              }),
              "tokenizer.ggml.merges");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "gpt2"));
                DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.pre", "made-up"));
                DV_RETURN_IF_ERROR(w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(kSpmTokens)));
                const std::vector<std::string> merges = {"a b"};
                return w.AddStringArray("tokenizer.ggml.merges", std::span<const std::string>(merges));
              }),
              "pre-tokenizer \"made-up\" is not supported");
  ExpectError(LoadGguf([&](gguf::GgufWriter& w) {
                DV_RETURN_IF_ERROR(w.AddString("tokenizer.ggml.model", "gpt2"));
                DV_RETURN_IF_ERROR(w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(kSpmTokens)));
                const std::vector<std::string> merges = {"nospace"};
                return w.AddStringArray("tokenizer.ggml.merges", std::span<const std::string>(merges));
              }),
              "has no space");
}

}  // namespace
}  // namespace dv::tok
