// The Engine API on stories260K: tokenization as llama.cpp does it, multi-sequence batches equal
// separate runs, embeddings, and clear errors for bad models, contexts, prompts and sequences.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "deepvault/engine.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "test_util.h"

namespace dv::engine {
namespace {

std::filesystem::path Stories() { return dv::testing::FixturePath("models/stories260K.gguf"); }

std::unique_ptr<Engine> LoadOrDie(const std::filesystem::path& path, LoadOptions options = {}) {
  if (options.n_threads == 0) options.n_threads = 2;
  auto e = Engine::Load(path, options);
  EXPECT_TRUE(e.ok()) << e.status().Describe();
  return e.ok() ? std::move(e).value() : nullptr;
}

int32_t ArgMax(std::span<const float> v) { return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

TEST(Engine, InfoDescribesTheModel) {
  auto e = LoadOrDie(Stories(), {.n_ctx = 256});
  ASSERT_NE(e, nullptr);
  const ModelInfo& i = e->info();
  EXPECT_EQ(i.arch, "llama");
  EXPECT_EQ(i.n_layer, 5);
  EXPECT_EQ(i.n_vocab, 512);
  EXPECT_EQ(i.n_ctx, 256);
  EXPECT_EQ(i.bos_id, 1);
  EXPECT_TRUE(i.add_bos);
  EXPECT_NE(std::find(i.eos_ids.begin(), i.eos_ids.end(), 2), i.eos_ids.end());
  EXPECT_EQ(i.weight_type, "F32");
  EXPECT_GT(i.bytes_per_token, 4u * 64 * 172 * 3 * 5);
}

TEST(Engine, TokenizesLikeLlamaCpp) {
  // The llama.cpp oracle models share stories260K's vocabulary; their prompt_tokens are
  // llama.cpp's tokenization with BOS.
  const auto oracle_path = dv::testing::SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.json");
  if (oracle_path.empty()) GTEST_SKIP() << "../shared llama.cpp oracle fixtures are absent";
  auto e = LoadOrDie(Stories(), {.n_ctx = 64});
  ASSERT_NE(e, nullptr);
  if (e->tokenizer() == nullptr) GTEST_SKIP() << "tokenizer component not available";
  const auto oracle = nlohmann::json::parse(dv::testing::ReadFile(oracle_path));
  for (const auto& prompt : oracle) {
    auto ids = e->Tokenize(prompt["prompt"].get<std::string>(), /*add_bos=*/true);
    ASSERT_TRUE(ids.ok()) << ids.status().Describe();
    EXPECT_EQ(*ids, prompt["prompt_tokens"].get<std::vector<int32_t>>()) << prompt["prompt"];
  }
}

TEST(Engine, MixedBatchOfTwoSequencesEqualsSeparateRuns) {
  auto e = LoadOrDie(Stories(), {.n_ctx = 64, .max_sequences = 2});
  ASSERT_NE(e, nullptr);
  const std::vector<int32_t> a = {1, 403, 407, 261, 378}, b = {1, 320, 290};
  // Separate: greedy continuations of each prompt for 6 steps.
  auto greedy = [&](const std::vector<int32_t>& prompt) {
    auto seq = e->CreateSequence();
    EXPECT_TRUE(seq.ok());
    EXPECT_TRUE(e->Prefill(*seq, prompt).ok());
    std::vector<int32_t> out;
    std::vector<std::vector<float>> logits;
    for (int i = 0; i < 6; ++i) {
      logits.emplace_back(e->Logits(0).begin(), e->Logits(0).end());
      out.push_back(ArgMax(e->Logits(0)));
      EXPECT_TRUE(e->Decode(std::vector<BatchItem>{{*seq, out.back(), true}}).ok());
    }
    EXPECT_TRUE(e->FreeSequence(*seq).ok());
    return std::make_pair(out, logits);
  };
  const auto [ga, la] = greedy(a);
  const auto [gb, lb] = greedy(b);

  // Together: both prompts in one forward pass, then both generation steps in one pass each.
  auto sa = e->CreateSequence(), sb = e->CreateSequence();
  ASSERT_TRUE(sa.ok() && sb.ok());
  std::vector<BatchItem> batch;
  for (size_t i = 0; i < a.size(); ++i) batch.push_back({*sa, a[i], i + 1 == a.size()});
  for (size_t i = 0; i < b.size(); ++i) batch.push_back({*sb, b[i], i + 1 == b.size()});
  ASSERT_TRUE(e->Decode(batch).ok());
  for (int step = 0; step < 6; ++step) {
    ASSERT_EQ(e->n_outputs(), 2);
    for (int j = 0; j < 512; ++j) {
      ASSERT_NEAR(e->Logits(0)[j], la[step][j], 1e-4);
      ASSERT_NEAR(e->Logits(1)[j], lb[step][j], 1e-4);
    }
    ASSERT_EQ(ArgMax(e->Logits(0)), ga[step]);
    ASSERT_EQ(ArgMax(e->Logits(1)), gb[step]);
    ASSERT_TRUE(e->Decode(std::vector<BatchItem>{{*sa, ga[step], true}, {*sb, gb[step], true}}).ok());
  }
  EXPECT_EQ(*e->SequenceLength(*sa), static_cast<int>(a.size()) + 6);
  EXPECT_EQ(e->Embedding(1).size(), 64u);
}

TEST(Engine, TruncateReusesAPrefix) {
  auto e = LoadOrDie(Stories(), {.n_ctx = 32});
  ASSERT_NE(e, nullptr);
  auto seq = e->CreateSequence();
  ASSERT_TRUE(e->Prefill(*seq, std::vector<int32_t>{1, 403, 407}).ok());
  const std::vector<float> first(e->Logits(0).begin(), e->Logits(0).end());
  ASSERT_TRUE(e->Decode(std::vector<BatchItem>{{*seq, 9, false}, {*seq, 10, true}}).ok());
  ASSERT_TRUE(e->TruncateSequence(*seq, 2).ok());
  ASSERT_TRUE(e->Decode(std::vector<BatchItem>{{*seq, 407, true}}).ok());
  for (int j = 0; j < 512; ++j) ASSERT_NEAR(e->Logits(0)[j], first[j], 1e-5);
}

TEST(Engine, BadRequestsFailClearlyAndChangeNothing) {
  auto e = LoadOrDie(Stories(), {.n_ctx = 8});
  ASSERT_NE(e, nullptr);
  auto seq = e->CreateSequence();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(e->CreateSequence().status().code(), StatusCode::kResourceExhausted);
  const std::vector<int32_t> long_prompt(9, 5);
  Status s = e->Prefill(*seq, long_prompt);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("does not fit the context of 8"), std::string::npos) << s.message();
  s = e->Decode(std::vector<BatchItem>{{*seq, 1, false}, {*seq, 512, true}});
  EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos) << s.message();
  EXPECT_EQ(*e->SequenceLength(*seq), 0);  // the valid first item was not applied either
  EXPECT_EQ(e->Decode(std::vector<BatchItem>{{7, 1, true}}).code(), StatusCode::kNotFound);
  EXPECT_EQ(e->Prefill(*seq, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e->TruncateSequence(*seq, 3).code(), StatusCode::kInvalidArgument);
}

TEST(Engine, ContextLongerThanTheModelsIsRejected) {
  auto e = Engine::Load(Stories(), {.n_threads = 1, .n_ctx = 4096});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("training context 2048"), std::string::npos) << e.status().message();
  EXPECT_EQ(Engine::Load(Stories(), {.n_threads = -1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Engine::Load("/nonexistent/model.gguf").status().code(), StatusCode::kNotFound);
}

// Rewrites stories260K with `edit` applied to one metadata key or tensor shape.
std::filesystem::path RewriteStories(const dv::testing::TempDir& dir, const std::string& key_to_change, uint32_t value,
                                     const std::string& tensor_to_reshape) {
  auto file = gguf::GgufFile::Open(Stories());
  EXPECT_TRUE(file.ok());
  gguf::GgufWriter w;
  for (const auto& kv : file->metadata()) {
    if (kv.key == key_to_change) {
      EXPECT_TRUE(w.AddU32(kv.key, value).ok());
    } else {
      EXPECT_TRUE(w.AddValue(kv.key, kv.value).ok());
    }
  }
  for (const auto& t : file->tensors()) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (t.name == tensor_to_reshape) std::swap(ne[0], ne[1]);
    EXPECT_TRUE(w.AddTensor(t.name, t.type, ne, t.bytes()).ok());
  }
  const auto path = dir.path() / "bad.gguf";
  EXPECT_TRUE(w.WriteToFile(path).ok());
  return path;
}

TEST(Engine, TensorsNotMatchingMetadataAreRejectedByName) {
  dv::testing::TempDir dir;
  auto e = Engine::Load(RewriteStories(dir, "", 0, "blk.2.ffn_down.weight"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("tensor blk.2.ffn_down.weight has shape [64, 172], expected [172, 64]"),
            std::string::npos)
      << e.status().message();
  e = Engine::Load(RewriteStories(dir, "llama.feed_forward_length", 200, ""));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("tensor blk.0.ffn_gate.weight has shape [64, 172], expected [64, 200]"),
            std::string::npos)
      << e.status().message();
  e = Engine::Load(RewriteStories(dir, "llama.attention.head_count_kv", 3, ""));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("not a multiple of head_count_kv 3"), std::string::npos) << e.status().message();
}

}  // namespace
}  // namespace dv::engine
