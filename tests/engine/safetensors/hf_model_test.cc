// config.json parsing on published model configurations, and sharded model folders.
#include "engine/safetensors/hf_model.h"

#include <gtest/gtest.h>

#include "safetensors_builder.h"
#include "test_util.h"

namespace dv::safetensors {
namespace {

using dv::testing::TempDir;
using dv::testing::WriteFile;
using testing::SafetensorsBuilder;

// config.json of Qwen/Qwen2.5-0.5B-Instruct as published on the Hugging Face hub.
constexpr const char* kQwen25Config = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936})";

// config.json of deepseek-ai/DeepSeek-R1-Distill-Llama-8B (Llama 3.1 architecture, llama3 RoPE scaling).
constexpr const char* kR1LlamaConfig = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "hidden_act": "silu", "hidden_size": 4096,
  "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})";

TEST(HfModelConfig, ParsesQwen25) {
  auto c = HfModelConfig::Parse(kQwen25Config);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->architectures, std::vector<std::string>{"Qwen2ForCausalLM"});
  EXPECT_EQ(c->model_type, "qwen2");
  EXPECT_EQ(c->hidden_size, 896u);
  EXPECT_EQ(c->num_hidden_layers, 24u);
  EXPECT_EQ(c->num_attention_heads, 14u);
  EXPECT_EQ(c->num_key_value_heads, 2u);
  EXPECT_EQ(c->intermediate_size, 4864u);
  EXPECT_EQ(c->vocab_size, 151936u);
  EXPECT_EQ(c->max_position_embeddings, 32768u);
  EXPECT_EQ(c->head_dim, 64u);  // 896 / 14
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->attention_bias.has_value());
  EXPECT_FALSE(c->rope_scaling.has_value());
}

TEST(HfModelConfig, ParsesR1DistillLlamaWithRopeScaling) {
  auto c = HfModelConfig::Parse(kR1LlamaConfig);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->num_key_value_heads, 8u);
  EXPECT_EQ(c->head_dim, 128u);
  EXPECT_EQ(c->rope_theta, 500000.0);
  EXPECT_EQ(c->attention_bias, std::optional<bool>(false));
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_EQ(c->rope_scaling->type, "llama3");
  EXPECT_EQ(c->rope_scaling->factor, 8.0);
  EXPECT_EQ(c->rope_scaling->original_max_position_embeddings, std::optional<uint64_t>(8192));
  EXPECT_NE(c->rope_scaling->json.find("\"high_freq_factor\":4.0"), std::string::npos);
}

TEST(HfModelConfig, RejectsInvalidValues) {
  const std::string base = R"("hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 10)";
  auto parse = [&](const std::string& extra) { return HfModelConfig::Parse("{" + base + ", " + extra + "}"); };
  EXPECT_TRUE(parse(R"("num_attention_heads": 4)").ok());
  EXPECT_EQ(parse(R"("num_attention_heads": 0)").status().message(),
            "config.json: \"num_attention_heads\" must be a positive integer");
  EXPECT_EQ(parse(R"("num_attention_heads": 6)").status().message(),
            "config.json: hidden_size 64 is not a multiple of num_attention_heads 6");
  EXPECT_TRUE(parse(R"("num_attention_heads": 6, "head_dim": 16)").ok());  // explicit head_dim (e.g. Qwen3)
  EXPECT_EQ(parse(R"("num_attention_heads": 4, "num_key_value_heads": 3)").status().message(),
            "config.json: num_attention_heads 4 is not a multiple of num_key_value_heads 3");
  EXPECT_FALSE(parse(R"("num_attention_heads": 4, "rms_norm_eps": -1)").ok());
  EXPECT_FALSE(parse(R"("num_attention_heads": 4, "rope_theta": "big")").ok());
  EXPECT_FALSE(parse(R"("num_attention_heads": 4, "tie_word_embeddings": 1)").ok());
  EXPECT_FALSE(parse(R"("num_attention_heads": 4, "rope_scaling": {"factor": 2})").ok());
  EXPECT_FALSE(parse(R"("num_attention_heads": 4, "architectures": "X")").ok());
  EXPECT_EQ(HfModelConfig::Parse(R"({"hidden_size": 64})").status().message(),
            "config.json: missing \"num_hidden_layers\"");
  EXPECT_FALSE(HfModelConfig::Parse("not json").ok());
}

const char* kTinyConfig = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 4, "num_hidden_layers": 1,
  "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 3})";

TEST(HfModel, OpensShardedFolder) {
  TempDir dir;
  WriteFile(dir.path() / "config.json", kTinyConfig);
  SafetensorsBuilder a, b;
  a.AddValues<float>("model.embed_tokens.weight", "F32", {3, 4}, std::vector<float>(12, 1.0f));
  b.AddValues<uint16_t>("model.norm.weight", "BF16", {4}, {0x3F80, 0x3F80, 0x3F80, 0x3F80});
  b.AddValues<uint16_t>("lm_head.weight", "F16", {3, 4}, std::vector<uint16_t>(12, 0x3C00));
  WriteFile(dir.path() / "model-00001-of-00002.safetensors", a.Build());
  WriteFile(dir.path() / "model-00002-of-00002.safetensors", b.Build());
  WriteFile(dir.path() / "model.safetensors.index.json", R"({"metadata": {"total_size": 52}, "weight_map": {
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors",
    "lm_head.weight": "model-00002-of-00002.safetensors"}})");
  auto m = HfModel::Open(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->shard_count(), 2u);
  EXPECT_EQ(m->tensors().size(), 3u);
  EXPECT_EQ(m->config().head_dim, 2u);
  ASSERT_NE(m->Find("lm_head.weight"), nullptr);
  EXPECT_EQ(m->Find("lm_head.weight")->dtype, DType::kF16);

  // The index must agree with the shards.
  WriteFile(dir.path() / "model.safetensors.index.json", R"({"weight_map": {
    "model.embed_tokens.weight": "model-00002-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors",
    "lm_head.weight": "model-00002-of-00002.safetensors"}})");
  auto wrong = HfModel::Open(dir.path());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().Describe().find("the index places tensor model.embed_tokens.weight in "
                                           "model-00002-of-00002.safetensors, which does not contain it"),
            std::string::npos)
      << wrong.status().Describe();
  WriteFile(dir.path() / "model.safetensors.index.json", R"({"weight_map": {"x": "../../etc/passwd"}})");
  auto traversal = HfModel::Open(dir.path());
  ASSERT_FALSE(traversal.ok());
  EXPECT_NE(traversal.status().Describe().find("is not a plain file name"), std::string::npos);
  WriteFile(dir.path() / "model.safetensors.index.json", R"({"weight_map": {
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors",
    "lm_head.weight": "model-00002-of-00002.safetensors",
    "extra.weight": "model-00002-of-00002.safetensors"}})");
  auto extra = HfModel::Open(dir.path());
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().Describe().find("the index places tensor extra.weight in"), std::string::npos);
}

TEST(HfModel, SingleFileAndMissingPieces) {
  TempDir dir;
  auto no_config = HfModel::Open(dir.path());
  ASSERT_FALSE(no_config.ok());
  EXPECT_EQ(no_config.status().code(), StatusCode::kNotFound);
  WriteFile(dir.path() / "config.json", kTinyConfig);
  auto no_weights = HfModel::Open(dir.path());
  ASSERT_FALSE(no_weights.ok());
  EXPECT_NE(no_weights.status().Describe().find("model.safetensors"), std::string::npos);
  SafetensorsBuilder a;
  a.AddValues<float>("model.norm.weight", "F32", {4}, std::vector<float>(4, 1.0f));
  WriteFile(dir.path() / "model.safetensors", a.Build());
  auto m = HfModel::Open(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->tensors().size(), 1u);
}

}  // namespace
}  // namespace dv::safetensors
