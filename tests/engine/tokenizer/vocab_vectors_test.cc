// llama.cpp's tokenizer test vectors (tests/fixtures/tokenizers/llamacpp/*.inp/.out): 46 strings
// per vocabulary with the ids HF `tokenizers` produces for them (add_special_tokens=False).
// Every string must match exactly, for five vocabularies and both loaders.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/loader.h"
#include "test_util.h"

namespace dv::tok {
namespace {

using dv::testing::FixturePath;
using dv::testing::ReadFile;
using dv::testing::SharedPath;

struct Vector {
  std::string text;
  std::vector<TokenId> ids;
};

// The .inp file is the test strings, each followed by "\n__ggml_vocab_test__\n"; the .out file has
// one line of space-separated ids per string.
std::vector<Vector> ReadVectors(const std::string& name) {
  const std::string inp = ReadFile(FixturePath("tokenizers/llamacpp/" + name + ".inp"));
  const std::string out = ReadFile(FixturePath("tokenizers/llamacpp/" + name + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Vector> vectors;
  size_t pos = 0;
  while (true) {
    const size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    vectors.push_back({inp.substr(pos, hit - pos), {}});
    pos = hit + sep.size();
  }
  EXPECT_EQ(pos, inp.size()) << "trailing text after the last separator";
  std::istringstream lines(out);
  std::string line;
  size_t k = 0;
  while (std::getline(lines, line)) {
    if (k >= vectors.size()) {
      ADD_FAILURE() << "more output lines than inputs";
      break;
    }
    std::istringstream ids(line);
    long v;
    while (ids >> v) vectors[k].ids.push_back(static_cast<TokenId>(v));
    ++k;
  }
  EXPECT_EQ(k, vectors.size());
  return vectors;
}

std::string Show(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) {
    s += ' ';
    s += std::to_string(id);
  }
  return s;
}

void CheckAll(const Tokenizer& tok, const std::string& vectors_name) {
  const auto vectors = ReadVectors(vectors_name);
  ASSERT_EQ(vectors.size(), 46u);
  int failures = 0;
  for (const Vector& v : vectors) {
    auto ids = tok.Encode(v.text);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    if (*ids != v.ids) {
      ++failures;
      ADD_FAILURE() << "text: \"" << v.text << "\"\n  expected:" << Show(v.ids) << "\n  got:     " << Show(*ids);
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(TokenizerVectors, DeepSeekLlmGguf) {
  const auto path = SharedPath("fixtures/tokenizers/llamacpp-vocab/ggml-vocab-deepseek-llm.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared/fixtures/tokenizers/llamacpp-vocab not present";
  auto tok = LoadTokenizer(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  CheckAll(**tok, "ggml-vocab-deepseek-llm.gguf");
}

TEST(TokenizerVectors, LlamaSpmGguf) {
  auto tok = LoadTokenizer(FixturePath("tokenizers/llamacpp/ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  CheckAll(**tok, "ggml-vocab-llama-spm.gguf");
}

TEST(TokenizerVectors, BertBgeGguf) {
  auto tok = LoadTokenizer(FixturePath("tokenizers/llamacpp/ggml-vocab-bert-bge.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  CheckAll(**tok, "ggml-vocab-bert-bge.gguf");
}

TEST(TokenizerVectors, DeepSeekR1QwenTokenizerJson) {
  const auto path = SharedPath("fixtures/tokenizers/qwen3/tokenizer.json");
  if (path.empty()) GTEST_SKIP() << "../shared/fixtures/tokenizers/qwen3 not present";
  auto tok = LoadTokenizer(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->split_engines(), std::vector<std::string_view>{"qwen2"});
  CheckAll(**tok, "ggml-vocab-deepseek-r1-qwen.gguf");
}

TEST(TokenizerVectors, Llama3TokenizerJson) {
  auto tok = LoadTokenizer(FixturePath("tokenizers/llama3/tokenizer.json.gz"));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->split_engines(), std::vector<std::string_view>{"llama3"});
  CheckAll(**tok, "ggml-vocab-llama-bpe.gguf");
}

}  // namespace
}  // namespace dv::tok
