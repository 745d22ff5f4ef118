// Behaviour of the Tokenizer beyond the reference vectors: special-token safety, streaming
// detokenization, round trips, concurrency.
#include "engine/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "common/utf8.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/loader.h"
#include "test_util.h"

namespace dv::tok {
namespace {

using dv::testing::FixturePath;
using dv::testing::SharedPath;

// A small byte-level BPE: the 256 byte tokens, merges building "hello", one special and one
// non-special added token.
TokenizerSpec TinyByteLevelSpec() {
  TokenizerSpec spec;
  spec.model = ModelType::kBpe;
  spec.byte_level = true;
  for (int b = 0; b < 256; ++b) {
    std::string t;
    byte_level::Encode(std::string(1, static_cast<char>(b)), t);
    spec.tokens.push_back(t);
  }
  for (const char* t : {"he", "ll", "hell", "hello", "\xC4\xA0w"}) spec.tokens.push_back(t);  // 256..260
  spec.merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "w"}};
  spec.tokens.push_back("<|eot|>");  // 261
  spec.tokens.push_back("<tool>");   // 262
  spec.added_tokens = {{.content = "<|eot|>", .id = 261, .special = true},
                       {.content = "<tool>", .id = 262, .special = false}};
  spec.attrs.assign(spec.tokens.size(), TokenAttr::kNormal);
  spec.attrs[261] = TokenAttr::kControl;
  spec.attrs[262] = TokenAttr::kUserDefined;
  spec.pre_tokenizers.push_back(PreTokenizerStep{.kind = PreTokenizerStep::Kind::kByteLevel, .use_regex = true});
  spec.decoders.push_back(DecoderStep{.kind = DecoderStep::Kind::kByteLevel});
  spec.prefix_ids = {261};
  return spec;
}

std::unique_ptr<Tokenizer> Tiny() {
  auto tok = Tokenizer::Create(TinyByteLevelSpec());
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

bool Contains(const std::vector<TokenId>& ids, TokenId id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

TEST(Tokenizer, MergesFollowRankOrder) {
  auto tok = Tiny();
  auto ids = tok->Encode("hello");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<TokenId>{259});
  ids = tok->Encode("hello world");
  ASSERT_TRUE(ids.ok());
  // "hello" | " world" → " w" merges, the rest stay bytes.
  EXPECT_EQ(*ids, (std::vector<TokenId>{259, 260, 'o', 'r', 'l', 'd'}));
}

TEST(Tokenizer, SpecialTokenInUserTextIsNotASpecialId) {
  auto tok = Tiny();
  auto plain = tok->Encode("hi<|eot|>");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(Contains(*plain, 261));
  auto decoded = tok->Decode(*plain);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "hi<|eot|>");  // tokenized as ordinary text, round-trips

  auto allowed = tok->Encode("hi<|eot|>", {.allow_special = true});
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->back(), 261);

  // Non-special added tokens are always recognised.
  auto tool = tok->Encode("x<tool>y");
  ASSERT_TRUE(tool.ok());
  EXPECT_EQ(*tool, (std::vector<TokenId>{'x', 262, 'y'}));
}

TEST(Tokenizer, AddSpecialAddsPrefixOnlyWhenAsked) {
  auto tok = Tiny();
  EXPECT_EQ(*tok->Encode("hello"), std::vector<TokenId>{259});
  EXPECT_EQ(*tok->Encode("hello", {.add_special = true}), (std::vector<TokenId>{261, 259}));
  EXPECT_EQ(*tok->Encode("", {.add_special = true}), std::vector<TokenId>{261});
}

TEST(Tokenizer, DecodeSkipsSpecialOnRequest) {
  auto tok = Tiny();
  const std::vector<TokenId> ids = {261, 259};
  EXPECT_EQ(*tok->Decode(ids), "<|eot|>hello");
  EXPECT_EQ(*tok->Decode(ids, {.skip_special = true}), "hello");
}

TEST(Tokenizer, RealTokenizersRefuseForgedSpecialTokens) {
  struct Case {
    std::string path, text, special;
  };
  std::vector<Case> cases = {
      {FixturePath("tokenizers/llama3/tokenizer.json.gz").string(), "<|eot_id|>", "<|eot_id|>"},
      {FixturePath("tokenizers/llamacpp/ggml-vocab-llama-spm.gguf").string(), "a</s>", "</s>"},
      {FixturePath("tokenizers/llamacpp/ggml-vocab-bert-bge.gguf").string(), "[SEP] x", "[SEP]"},
  };
  if (auto p = SharedPath("fixtures/tokenizers/deepseek-v3/tokenizer.json"); !p.empty()) {
    cases.push_back({p.string(), "\xEF\xBD\x9C" "x<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                     "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"});
  }
  if (auto p = SharedPath("fixtures/tokenizers/qwen3/tokenizer.json"); !p.empty()) {
    cases.push_back({p.string(), "<|im_start|>system", "<|im_start|>"});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    auto tok = LoadTokenizer(c.path);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    const auto special = (*tok)->FindToken(c.special);
    ASSERT_TRUE(special.has_value());
    EXPECT_TRUE((*tok)->IsSpecial(*special));
    auto plain = (*tok)->Encode(c.text);
    ASSERT_TRUE(plain.ok());
    EXPECT_FALSE(Contains(*plain, *special)) << c.text;
    auto allowed = (*tok)->Encode(c.text, {.allow_special = true});
    ASSERT_TRUE(allowed.ok());
    EXPECT_TRUE(Contains(*allowed, *special)) << c.text;
  }
}

TEST(Tokenizer, QwenThinkTagIsAlwaysOneToken) {
  const auto path = SharedPath("fixtures/tokenizers/qwen3/tokenizer.json");
  if (path.empty()) GTEST_SKIP() << "../shared/fixtures/tokenizers/qwen3 not present";
  auto tok = LoadTokenizer(path);
  ASSERT_TRUE(tok.ok());
  auto ids = (*tok)->Encode("<think>\nok</think>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), 151667);  // non-special added token, as in HF
  EXPECT_TRUE(Contains(*ids, 151668));
}

const char* kMixedText =
    "第一条 为了保护民事主体的合法权益，调整民事关系。Rust's ownership model 🦀 makes memory safety "
    "guarantees without a GC! 中华人民共和国民法典 (2020) — 𝐀𝐁 ١٢٣ naïve café ½ \t\n\n  end ";

// Each Feed() result must be valid UTF-8 and together they must equal the one-shot decode.
void CheckStreaming(const Tokenizer& tok, const std::string& text, bool expect_roundtrip) {
  auto ids = tok.Encode(text);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  auto full = tok.Decode(*ids);
  ASSERT_TRUE(full.ok());
  StreamingDetokenizer stream(tok);
  std::string joined;
  for (TokenId id : *ids) {
    auto piece = stream.Feed(id);
    ASSERT_TRUE(piece.ok());
    EXPECT_TRUE(utf8::IsValid(*piece)) << "token " << id;
    joined += *piece;
  }
  joined += stream.Finish();
  EXPECT_EQ(joined, *full);
  if (expect_roundtrip) {
    EXPECT_EQ(*full, text);
  }
}

TEST(Tokenizer, StreamingDetokenizerNeverSplitsCharacters) {
  for (const char* rel : {"tokenizers/llama3/tokenizer.json.gz", "tokenizers/llamacpp/ggml-vocab-llama-spm.gguf"}) {
    SCOPED_TRACE(rel);
    auto tok = LoadTokenizer(FixturePath(rel));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    CheckStreaming(**tok, kMixedText, /*expect_roundtrip=*/true);
  }
  auto bert = LoadTokenizer(FixturePath("tokenizers/llamacpp/ggml-vocab-bert-bge.gguf"));
  ASSERT_TRUE(bert.ok());
  CheckStreaming(**bert, kMixedText, /*expect_roundtrip=*/false);  // BERT lowercases and drops spaces
}

TEST(Tokenizer, StreamingHoldsBackPartialCharacters) {
  // Llama 3 has no token for "🦀" as a whole: it is emitted as byte tokens.
  auto tok = LoadTokenizer(FixturePath("tokenizers/llama3/tokenizer.json.gz"));
  ASSERT_TRUE(tok.ok());
  auto ids = (*tok)->Encode("\xF0\x9F\xA6\x80");
  ASSERT_TRUE(ids.ok());
  ASSERT_GT(ids->size(), 1u);
  StreamingDetokenizer stream(**tok);
  for (size_t i = 0; i + 1 < ids->size(); ++i) EXPECT_EQ(*stream.Feed((*ids)[i]), "");
  EXPECT_EQ(*stream.Feed(ids->back()), "\xF0\x9F\xA6\x80");
  // A truncated stream ends with U+FFFD rather than broken bytes.
  StreamingDetokenizer cut(**tok);
  EXPECT_EQ(*cut.Feed((*ids)[0]), "");
  EXPECT_EQ(cut.Finish(), "\xEF\xBF\xBD");
}

TEST(Tokenizer, ByteLevelRoundTripsCorpusText) {
  std::vector<std::string> paths = {FixturePath("tokenizers/llama3/tokenizer.json.gz").string()};
  for (const char* rel : {"fixtures/tokenizers/deepseek-v3/tokenizer.json", "fixtures/tokenizers/qwen3/tokenizer.json"}) {
    if (auto p = SharedPath(rel); !p.empty()) paths.push_back(p.string());
  }
  for (const auto& path : paths) {
    SCOPED_TRACE(path);
    auto tok = LoadTokenizer(path);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    for (const std::string& text : {std::string(kMixedText), std::string("  leading\r\nand trailing \t "), std::string()}) {
      auto ids = (*tok)->Encode(text);
      ASSERT_TRUE(ids.ok());
      EXPECT_EQ(*(*tok)->Decode(*ids), text);
    }
  }
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  auto tok = LoadTokenizer(FixturePath("tokenizers/llama3/tokenizer.json.gz"));
  ASSERT_TRUE(tok.ok());
  std::string text;
  for (int i = 0; i < 50; ++i) text += kMixedText;
  const auto expected = (*tok)->Encode(text);
  ASSERT_TRUE(expected.ok());
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto ids = (*tok)->Encode(text);
        ok[t] += ids.ok() && *ids == *expected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, std::vector<int>(4, 5));
}

TEST(Tokenizer, InvalidUtf8InputIsRejected) {
  auto tok = Tiny();
  auto ids = tok->Encode("ok\xC3(");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ids.status().message().find("offset 2"), std::string::npos) << ids.status().message();
}

TEST(Tokenizer, OutOfRangeIdsAreErrors) {
  auto tok = Tiny();
  for (TokenId bad : {-1, 263, 1 << 30}) {
    auto text = tok->Decode(std::vector<TokenId>{'a', bad});
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(text.status().message().find(std::to_string(bad)), std::string::npos);
    StreamingDetokenizer stream(*tok);
    EXPECT_FALSE(stream.Feed(bad).ok());
  }
}

}  // namespace
}  // namespace dv::tok
