// `ConvertHfToGguf` / `LoadHfVocab` against references nobody here wrote:
//  - llama.cpp's pre-tokenizer hashes: our check text and hashing must reproduce the hash llama.cpp
//    lists for DeepSeek-V3 and Llama 3 from their real tokenizer.json files;
//  - HF `tokenizers` ids (tests/fixtures/hf-reference/tokenizer_ids.jsonl): the GGUF tokenizer
//    built from the converted vocabulary metadata must produce them for DeepSeek-V3, Qwen3, Llama 3;
//  - the tiny HF checkpoints' config.json: every hyper-parameter lands in the GGUF keys llama.cpp
//    uses, and the converted tokenizer encodes like the tokenizer.json one.
// Logits of converted files are checked in tests/engine/model/hf_logits_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "engine/convert/hf_to_gguf.h"
#include "engine/convert/hf_vocab.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "engine/tokenizer/load_gguf.h"
#include "engine/tokenizer/load_hf.h"
#include "engine/tokenizer/normalize.h"
#include "engine/tokenizer/tokenizer.h"
#include "test_util.h"

namespace dv::convert {
namespace {

using dv::testing::FixturePath;
using dv::testing::ReadFile;
using dv::testing::SharedPath;
using dv::testing::TempDir;

struct ReferenceCase {
  std::string text;
  std::vector<tok::TokenId> ids;
};

std::vector<ReferenceCase> ReferenceIds(const std::string& tokenizer) {
  std::vector<ReferenceCase> out;
  std::ifstream in(FixturePath("hf-reference/tokenizer_ids.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["tokenizer"] == tokenizer) out.push_back({j["text"], j["ids"].get<std::vector<tok::TokenId>>()});
  }
  return out;
}

// The tokenizer llama.cpp would build from the converted metadata: a vocabulary-only GGUF.
std::unique_ptr<tok::Tokenizer> GgufTokenizerOf(const GgufVocab& vocab, std::string& storage) {
  gguf::GgufWriter w;
  EXPECT_TRUE(w.AddString("general.architecture", "qwen2").ok());
  EXPECT_TRUE(AddVocabMetadata(vocab, w).ok());
  auto bytes = w.WriteToString();
  EXPECT_TRUE(bytes.ok());
  storage = std::move(bytes).value();
  auto file = gguf::GgufFile::OpenBuffer(std::span(reinterpret_cast<const uint8_t*>(storage.data()), storage.size()));
  EXPECT_TRUE(file.ok()) << file.status().Describe();
  auto spec = tok::SpecFromGguf(*file);
  EXPECT_TRUE(spec.ok()) << spec.status().Describe();
  if (!spec.ok()) return nullptr;
  auto tokenizer = tok::Tokenizer::Create(std::move(spec).value());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().Describe();
  return tokenizer.ok() ? std::move(tokenizer).value() : nullptr;
}

struct RealTokenizer {
  const char* name;        // in tokenizer_ids.jsonl
  const char* dir;         // "shared:..." or a fixture path
  const char* pre;         // what llama.cpp writes
  size_t n_tokens;         // vocabulary size (largest id + 1)
};

class RealTokenizerTest : public ::testing::TestWithParam<RealTokenizer> {
 protected:
  std::filesystem::path Dir() const {
    const std::string d = GetParam().dir;
    if (d.rfind("shared:", 0) == 0) return SharedPath(d.substr(7));
    return FixturePath(d);
  }
};

TEST_P(RealTokenizerTest, PreTokenizerIdentifiedByLlamaCppHash) {
  const auto dir = Dir();
  if (dir.empty()) GTEST_SKIP() << "../shared fixtures are absent";
  auto vocab = LoadHfVocab(dir, {});
  ASSERT_TRUE(vocab.ok()) << vocab.status().Describe();
  EXPECT_EQ(vocab->pre, GetParam().pre) << vocab->pre_reason;
  EXPECT_EQ(vocab->tokens.size(), GetParam().n_tokens);
  EXPECT_EQ(vocab->tokens.size(), vocab->token_types.size());
}

TEST_P(RealTokenizerTest, ConvertedVocabularyEncodesLikeHfTokenizers) {
  const auto dir = Dir();
  if (dir.empty()) GTEST_SKIP() << "../shared fixtures are absent";
  auto vocab = LoadHfVocab(dir, {});
  ASSERT_TRUE(vocab.ok()) << vocab.status().Describe();
  std::string storage;
  auto tokenizer = GgufTokenizerOf(*vocab, storage);
  ASSERT_NE(tokenizer, nullptr);
  // GGUF has no place for tokenizer.json's normalizer (Qwen's NFC): llama.cpp tokenizes the text
  // as given, so texts that NFC changes are outside what a converted vocabulary can reproduce.
  auto json_spec = tok::LoadTokenizerJsonSpec(dir / (std::filesystem::exists(dir / "tokenizer.json")
                                                         ? "tokenizer.json" : "tokenizer.json.gz"));
  ASSERT_TRUE(json_spec.ok());
  auto normalizer = tok::Normalizer::Create(json_spec->normalizers);
  ASSERT_TRUE(normalizer.ok());
  const auto cases = ReferenceIds(GetParam().name);
  ASSERT_GE(cases.size(), 50u);
  size_t compared = 0;
  for (const ReferenceCase& c : cases) {
    std::string normalized;
    normalizer->Apply(c.text, normalized);
    if (normalized != c.text) continue;
    tok::EncodeOptions options;
    options.allow_special = true;  // HF tokenizers match added tokens written in the text
    auto ids = tokenizer->Encode(c.text, options);
    ASSERT_TRUE(ids.ok()) << ids.status().Describe();
    EXPECT_EQ(*ids, c.ids) << GetParam().name << ": " << c.text;
    ++compared;
  }
  EXPECT_GE(compared, cases.size() - 2);
}

INSTANTIATE_TEST_SUITE_P(
    Vendors, RealTokenizerTest,
    ::testing::Values(RealTokenizer{"deepseek-v3", "shared:fixtures/tokenizers/deepseek-v3", "deepseek-v3", 128815},
                      RealTokenizer{"qwen3", "shared:fixtures/tokenizers/qwen3", "qwen2", 151669},
                      // This tokenizer.json's post-processor adds no BOS, so HF encode() gives the ids
                      // of Smaug-Llama-3's tokenizer and llama.cpp names it smaug-bpe (same regex).
                      RealTokenizer{"llama3", "tokenizers/llama3", "smaug-bpe", 128256}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST(HfVocab, SpecialTokensAndTypesOfDeepSeekV3) {
  const auto dir = SharedPath("fixtures/tokenizers/deepseek-v3");
  if (dir.empty()) GTEST_SKIP() << "../shared fixtures are absent";
  auto vocab = LoadHfVocab(dir, {});
  ASSERT_TRUE(vocab.ok()) << vocab.status().Describe();
  std::map<std::string, uint32_t> ids(vocab->special_ids.begin(), vocab->special_ids.end());
  // tokenizer_config.json: bos <｜begin▁of▁sentence｜> = 0, eos <｜end▁of▁sentence｜> = 1.
  EXPECT_EQ(ids["bos"], 0u);
  EXPECT_EQ(ids["eos"], 1u);
  EXPECT_EQ(vocab->tokens[0], "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  EXPECT_EQ(vocab->token_types[0], 3);  // control
  EXPECT_EQ(vocab->token_types[1000], 1);
  ASSERT_TRUE(vocab->chat_template.has_value());
  EXPECT_NE(vocab->chat_template->find("<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>"), std::string::npos);
  std::map<std::string, bool> add(vocab->add_special.begin(), vocab->add_special.end());
  EXPECT_TRUE(add["bos"]);
  EXPECT_FALSE(add["eos"]);
}

TEST(HfVocab, QwenThinkTokensAreUserDefinedAndVocabularyIsPadded) {
  const auto dir = SharedPath("fixtures/tokenizers/qwen3");
  if (dir.empty()) GTEST_SKIP() << "../shared fixtures are absent";
  VocabOptions options;
  options.vocab_size = 151936;  // Qwen3 config.json: more ids than tokens
  auto vocab = LoadHfVocab(dir, options);
  ASSERT_TRUE(vocab.ok()) << vocab.status().Describe();
  ASSERT_EQ(vocab->tokens.size(), 151936u);
  EXPECT_EQ(vocab->tokens[151643], "<|endoftext|>");
  EXPECT_EQ(vocab->token_types[151643], 3);
  EXPECT_EQ(vocab->tokens[151667], "<think>");  // added, not special: user-defined
  EXPECT_EQ(vocab->token_types[151667], 4);
  EXPECT_EQ(vocab->tokens[151700], "[PAD151700]");
  EXPECT_EQ(vocab->token_types[151700], 5);
  EXPECT_EQ(vocab->merges.size(), 151387u);
  EXPECT_EQ(vocab->merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"

  options.vocab_size = 1000;  // ids beyond vocab_size
  EXPECT_FALSE(LoadHfVocab(dir, options).ok());
  options.vocab_size = 0;
  options.pre_override = "no-such-pre";
  auto bad = LoadHfVocab(dir, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no-such-pre"), std::string::npos);
}

// --- The tiny checkpoints converted end to end ----------------------------------------------

struct Converted {
  TempDir tmp;
  std::filesystem::path path;
};

std::unique_ptr<Converted> Convert(const std::string& fixture, const std::string& type) {
  auto c = std::make_unique<Converted>();
  c->path = c->tmp.path() / (fixture + "-" + type + ".gguf");
  ThreadPool pool(2);
  ConvertOptions options;
  auto t = ParseOutputType(type);
  EXPECT_TRUE(t.ok());
  options.type = *t;
  auto report = ConvertHfToGguf(FixturePath("hf-models/" + fixture), c->path, options, pool);
  EXPECT_TRUE(report.ok()) << report.status().Describe();
  if (!report.ok()) return nullptr;
  return c;
}

TEST(ConvertHf, TinyLlamaMetadataFollowsConfigJson) {
  auto c = Convert("tiny-llama", "f32");
  ASSERT_NE(c, nullptr);
  auto f = gguf::GgufFile::Open(c->path);
  ASSERT_TRUE(f.ok()) << f.status().Describe();
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  EXPECT_EQ(*f->GetString("general.name"), "tiny-llama");
  EXPECT_EQ(*f->GetU32("general.file_type"), 0u);
  EXPECT_EQ(*f->GetU32("llama.block_count"), 2u);
  EXPECT_EQ(*f->GetU32("llama.context_length"), 131072u);
  EXPECT_EQ(*f->GetU32("llama.embedding_length"), 64u);
  EXPECT_EQ(*f->GetU32("llama.feed_forward_length"), 160u);
  EXPECT_EQ(*f->GetU32("llama.attention.head_count"), 4u);
  EXPECT_EQ(*f->GetU32("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(*f->GetU32("llama.attention.key_length"), 16u);  // config.json names head_dim
  EXPECT_EQ(*f->GetU32("llama.rope.dimension_count"), 16u);
  EXPECT_EQ(*f->GetU32("llama.vocab_size"), 512u);
  EXPECT_EQ(*f->GetF32("llama.rope.freq_base"), 500000.0f);
  EXPECT_EQ(*f->GetF32("llama.attention.layer_norm_rms_epsilon"), 1e-6f);
  EXPECT_FALSE(f->Has("llama.rope.scaling.type"));  // llama3 scaling travels as rope_freqs
  auto freqs = f->GetTensor("rope_freqs.weight");
  ASSERT_TRUE(freqs.ok());
  EXPECT_EQ((*freqs)->ne[0], 8u);
  EXPECT_EQ((*freqs)->type, quant::TensorType::kF32);
  const float* factors = reinterpret_cast<const float*>((*freqs)->data);
  EXPECT_EQ(factors[0], 1.0f);  // highest frequency: unscaled
  EXPECT_EQ(factors[7], 8.0f);  // lowest (wavelength > 8192): the full factor
  // 2 layers x 9 tensors + token_embd, output_norm, output, rope_freqs.
  EXPECT_EQ(f->tensors().size(), 22u);
  EXPECT_NE(f->FindTensor("output.weight"), nullptr);
  EXPECT_EQ(*f->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*f->GetString("tokenizer.ggml.pre"), "gpt-2");  // ByteLevel with the GPT-2 regex
  EXPECT_EQ(f->GetStringArray("tokenizer.ggml.tokens")->size(), 512u);
  EXPECT_EQ(*f->GetU32("tokenizer.ggml.bos_token_id"), 0u);
  EXPECT_EQ(*f->GetU32("tokenizer.ggml.eos_token_id"), 1u);
  EXPECT_EQ(*f->GetU32("tokenizer.ggml.padding_token_id"), 2u);
  EXPECT_TRUE(*f->GetBool("tokenizer.ggml.add_bos_token"));
}

TEST(ConvertHf, RopeScalingAndTiedOutputOfQwenAndLinearLlama) {
  auto qwen2 = Convert("tiny-qwen2", "f16");
  ASSERT_NE(qwen2, nullptr);
  auto f = gguf::GgufFile::Open(qwen2->path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->GetString("qwen2.rope.scaling.type"), "yarn");
  EXPECT_EQ(*f->GetF32("qwen2.rope.scaling.factor"), 4.0f);
  EXPECT_EQ(*f->GetU32("qwen2.rope.scaling.original_context_length"), 1024u);
  EXPECT_EQ(*f->GetF32("qwen2.rope.freq_base"), 1e6f);
  EXPECT_FALSE(f->Has("qwen2.attention.key_length"));  // no head_dim in config.json
  EXPECT_EQ(f->FindTensor("output.weight"), nullptr);   // tied
  EXPECT_EQ(*f->GetU32("general.file_type"), 1u);
  EXPECT_EQ((*f->GetTensor("blk.0.attn_q.weight"))->type, quant::TensorType::kF16);
  EXPECT_EQ((*f->GetTensor("blk.0.attn_q.bias"))->type, quant::TensorType::kF32);  // 1-D stays F32
  EXPECT_EQ((*f->GetTensor("blk.1.attn_k.bias"))->ne[0], 32u);

  auto linear = Convert("tiny-llama-linear", "f32");
  ASSERT_NE(linear, nullptr);
  auto g = gguf::GgufFile::Open(linear->path);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g->GetString("llama.rope.scaling.type"), "linear");
  EXPECT_EQ(*g->GetF32("llama.rope.scaling.factor"), 2.0f);

  auto qwen3 = Convert("tiny-qwen3", "q8_0");
  ASSERT_NE(qwen3, nullptr);
  auto h = gguf::GgufFile::Open(qwen3->path);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h->GetU32("qwen3.attention.key_length"), 32u);  // head_dim 32 != 64 / 4
  EXPECT_EQ((*h->GetTensor("blk.0.attn_q_norm.weight"))->ne[0], 32u);
  EXPECT_EQ((*h->GetTensor("blk.0.ffn_down.weight"))->type, quant::TensorType::kQ8_0);
  EXPECT_EQ(*h->GetU32("general.file_type"), 7u);
}

TEST(ConvertHf, ConvertedTokenizerEncodesLikeTokenizerJson) {
  auto c = Convert("tiny-qwen2", "f32");
  ASSERT_NE(c, nullptr);
  auto from_gguf = tok::LoadGgufSpec(c->path);
  ASSERT_TRUE(from_gguf.ok()) << from_gguf.status().Describe();
  auto gguf_tok = tok::Tokenizer::Create(std::move(from_gguf).value());
  ASSERT_TRUE(gguf_tok.ok());
  auto from_json = tok::LoadTokenizerJsonSpec(FixturePath("hf-models/tiny-qwen2/tokenizer.json"));
  ASSERT_TRUE(from_json.ok());
  auto json_tok = tok::Tokenizer::Create(std::move(from_json).value());
  ASSERT_TRUE(json_tok.ok());
  size_t n = 0;
  for (const char* name : {"deepseek-v3", "qwen3", "llama3"}) {
    for (const ReferenceCase& rc : ReferenceIds(name)) {
      for (bool special : {false, true}) {
        tok::EncodeOptions o;
        o.add_special = special;
        o.allow_special = special;
        auto a = (*gguf_tok)->Encode(rc.text, o);
        auto b = (*json_tok)->Encode(rc.text, o);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(*a, *b) << rc.text;
        ++n;
      }
    }
  }
  EXPECT_GE(n, 300u);
}

// --- Hostile folders -------------------------------------------------------------------------

// A copy of a tiny checkpoint to break.
std::filesystem::path CopyFixture(const TempDir& tmp, const std::string& fixture) {
  const auto dst = tmp.path() / fixture;
  std::filesystem::copy(FixturePath("hf-models/" + fixture), dst, std::filesystem::copy_options::recursive);
  for (const auto& e : std::filesystem::directory_iterator(dst)) {
    std::filesystem::permissions(e.path(), std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  }
  return dst;
}

std::string ConvertError(const std::filesystem::path& dir, const std::string& type = "f16") {
  ThreadPool pool(1);
  ConvertOptions options;
  options.type = *ParseOutputType(type);
  const auto out = dir.parent_path() / "out.gguf";
  auto r = ConvertHfToGguf(dir, out, options, pool);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(std::filesystem::exists(out));
  return r.ok() ? "" : r.status().ToString();
}

void EditConfig(const std::filesystem::path& dir, const std::string& from, const std::string& to) {
  std::string text = ReadFile(dir / "config.json");
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  dv::testing::WriteFile(dir / "config.json", text);
}

TEST(ConvertHfHostile, BadConfigJson) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-qwen2");
  dv::testing::WriteFile(dir / "config.json", "{\"architectures\": [\"Qwen2ForCausalLM\"], ");
  EXPECT_NE(ConvertError(dir).find("config.json"), std::string::npos);
  dv::testing::WriteFile(dir / "config.json", "{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": -64}");
  EXPECT_NE(ConvertError(dir).find("hidden_size"), std::string::npos);
}

TEST(ConvertHfHostile, AbsurdSizesAreRefusedBeforeAnythingIsPlanned) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-qwen2");
  EditConfig(dir, "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 4000000000");
  std::string err = ConvertError(dir);
  EXPECT_NE(err.find("num_hidden_layers 4000000000 is larger than"), std::string::npos) << err;
  EditConfig(dir, "\"num_hidden_layers\": 4000000000", "\"num_hidden_layers\": 2");
  EditConfig(dir, "\"vocab_size\": 512", "\"vocab_size\": 9223372036854775807");
  err = ConvertError(dir);
  EXPECT_NE(err.find("vocab_size"), std::string::npos) << err;
}

TEST(ConvertHfHostile, UnsupportedArchitecture) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-qwen2");
  EditConfig(dir, "Qwen2ForCausalLM", "MistralForCausalLM");
  const std::string err = ConvertError(dir);
  EXPECT_NE(err.find("MistralForCausalLM"), std::string::npos) << err;
  EXPECT_NE(err.find("supported"), std::string::npos) << err;
}

TEST(ConvertHfHostile, MissingTensorUnexpectedTensorAndShapeMismatch) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-qwen2");
  EditConfig(dir, "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3");
  std::string err = ConvertError(dir);
  EXPECT_NE(err.find("blk.2."), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
  EditConfig(dir, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 1");
  err = ConvertError(dir);
  EXPECT_NE(err.find("model.layers.1."), std::string::npos) << err;
  EditConfig(dir, "\"num_hidden_layers\": 1", "\"num_hidden_layers\": 2");
  EditConfig(dir, "\"intermediate_size\": 160", "\"intermediate_size\": 128");
  err = ConvertError(dir);
  EXPECT_NE(err.find("has shape [64, 160], config.json implies [64, 128]"), std::string::npos) << err;
}

TEST(ConvertHfHostile, MissingShard) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-llama");
  std::filesystem::remove(dir / "model-00003-of-00005.safetensors");
  const std::string err = ConvertError(dir);
  EXPECT_NE(err.find("model-00003-of-00005.safetensors"), std::string::npos) << err;
}

TEST(ConvertHfHostile, UnsupportedDtype) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-qwen3");
  std::string bytes = ReadFile(dir / "model.safetensors");
  const size_t at = bytes.find("\"BF16\"");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 6, "\"I16\" ");  // same header length, a 2-byte integer dtype
  dv::testing::WriteFile(dir / "model.safetensors", bytes);
  const std::string err = ConvertError(dir);
  EXPECT_NE(err.find("I16"), std::string::npos) << err;
}

TEST(ConvertHfHostile, MissingOrBrokenTokenizer) {
  TempDir tmp;
  const auto dir = CopyFixture(tmp, "tiny-qwen2");
  dv::testing::WriteFile(dir / "tokenizer.json", "[1, 2]");
  EXPECT_NE(ConvertError(dir).find("tokenizer.json"), std::string::npos);
  std::filesystem::remove(dir / "tokenizer.json");
  EXPECT_NE(ConvertError(dir).find("tokenizer.json"), std::string::npos);
}

TEST(ConvertHfHostile, UnknownOutputType) {
  auto t = ParseOutputType("q3_k_xl");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("q3_k_xl"), std::string::npos);
  EXPECT_TRUE(ParseOutputType("Q4_K_M").ok());
  EXPECT_EQ(ParseOutputType("F32")->name(), "f32");
}

}  // namespace
}  // namespace dv::convert
