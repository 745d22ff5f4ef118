// stories260K (llama2.c's TinyStories model, F32, GQA 8/4): greedy decoding from BOS reproduces
// the text published with the model (../shared/fixtures/models/README.md) exactly.
#include <gtest/gtest.h>

#include "engine/gguf/gguf.h"
#include "model_test_util.h"
#include "test_util.h"

namespace dv::model {
namespace {

// The published text (README.md "Expected greedy output").
constexpr const char* kExpected =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she "
    "saw a big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want "
    "to play with your ball, but I can't find it.\"\n"
    "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
    "Lily didn't want to help her mom, so she said, \"I'm sorry, mom. I didn't know what to do.\" Her mom said, "
    "\"Don't worry, Lily. We can help you.";

// SentencePiece pieces as llama2.c decodes them: "▁" is a space, "<0xHH>" a raw byte, and the
// space a piece starts with is dropped right after BOS.
std::string DecodePiece(std::string_view piece, bool after_bos) {
  if (piece.size() == 6 && piece.substr(0, 3) == "<0x" && piece[5] == '>') {
    return std::string(1, static_cast<char>(std::stoi(std::string(piece.substr(3, 2)), nullptr, 16)));
  }
  std::string out;
  for (size_t i = 0; i < piece.size(); ++i) {
    if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += piece[i];
    }
  }
  if (after_bos && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::filesystem::path StoriesPath() { return dv::testing::FixturePath("models/stories260K.gguf"); }

TEST(Stories260K, GreedyFromBosReproducesPublishedText) {
  auto h = testing::Harness::Open(StoriesPath(), 256);
  ASSERT_NE(h, nullptr);
  const ModelConfig& c = h->source->config();
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.rope.style, RopeStyle::kNormal);
  auto vocab = h->source->gguf()->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(vocab.ok());
  constexpr int kBos = 1;
  int32_t token = kBos;
  std::string text;
  for (int pos = 0; pos < 256; ++pos) {
    const std::vector<float> logits = h->Feed({token});
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (next == kBos) break;
    text += DecodePiece((*vocab)[next], token == kBos);
    token = next;
  }
  EXPECT_EQ(text, kExpected);
}

TEST(Stories260K, BatchedPrefillEqualsTokenByToken) {
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 425, 320, 290};
  auto a = testing::Harness::Open(StoriesPath(), 64, 1);
  auto b = testing::Harness::Open(StoriesPath(), 64, 2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::vector<float> batched = a->Feed(prompt, /*all_logits=*/true);
  const size_t V = a->source->config().n_vocab;
  for (size_t i = 0; i < prompt.size(); ++i) {
    const std::vector<float> one = b->Feed({prompt[i]});
    for (size_t j = 0; j < V; ++j) ASSERT_NEAR(batched[i * V + j], one[j], 1e-4) << "token " << i << " logit " << j;
  }
}

}  // namespace
}  // namespace dv::model
