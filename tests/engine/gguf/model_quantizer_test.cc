// QuantizeModel on llama.cpp's F16 fixture, compared with what llama-quantize made of the same
// file (../shared/fixtures/llamacpp-oracle): same tensor types, same header bytes, and for Q8_0
// the identical file.
#include "engine/gguf/model_quantizer.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/gguf/gguf.h"
#include "test_util.h"

namespace dv::gguf {
namespace {

using dv::testing::ReadFile;
using dv::testing::SharedPath;
using quant::TensorType;

class ModelQuantizer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SharedPath(Oracle("f16")).empty()) GTEST_SKIP() << "../shared fixtures are absent";
    auto f = GgufFile::Open(SharedPath(Oracle("f16")));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    f16_ = std::make_unique<GgufFile>(std::move(f).value());
  }
  static std::string Oracle(const std::string& type) {
    return "fixtures/llamacpp-oracle/tiny-qwen2-s1-" + type + ".gguf";
  }
  // Quantizes the F16 fixture with `recipe`; returns the output path.
  std::filesystem::path Quantize(QuantRecipe recipe) {
    const auto out = dir_.path() / (std::string(QuantRecipeName(recipe)) + ".gguf");
    auto report = QuantizeModel(*f16_, out, recipe, pool_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return out;
  }
  std::unique_ptr<GgufFile> f16_;
  dv::testing::TempDir dir_;
  ThreadPool pool_{2};
};

TEST_F(ModelQuantizer, Q8_0FileIsIdenticalToLlamaQuantize) {
  const auto out = Quantize(QuantRecipe::kQ8_0);
  const std::string ours = ReadFile(out), theirs = ReadFile(SharedPath(Oracle("q8_0")));
  ASSERT_EQ(ours.size(), theirs.size());
  EXPECT_TRUE(ours == theirs);
}

// Q4_0, Q4_K_M, Q5_K_M, Q6_K: llama.cpp's type for every tensor, hence identical metadata, tensor
// table and offsets (the header up to the data section is byte-identical). Tensor data of the
// reference types (Q4_0, F32) is identical too; K-quant data differs (own quantizer).
TEST_F(ModelQuantizer, RecipesChooseLlamaCppTensorTypes) {
  const std::pair<QuantRecipe, std::string> cases[] = {{QuantRecipe::kQ4_0, "q4_0"},
                                                        {QuantRecipe::kQ4_K_M, "q4_k_m"},
                                                        {QuantRecipe::kQ5_K_M, "q5_k_m"},
                                                        {QuantRecipe::kQ6_K, "q6_k"}};
  for (const auto& [recipe, name] : cases) {
    SCOPED_TRACE(name);
    const auto out = Quantize(recipe);
    auto ours = GgufFile::Open(out);
    auto theirs = GgufFile::Open(SharedPath(Oracle(name)));
    ASSERT_TRUE(ours.ok() && theirs.ok());
    ASSERT_EQ(ours->tensors().size(), theirs->tensors().size());
    for (size_t i = 0; i < ours->tensors().size(); ++i) {
      const TensorInfo& a = ours->tensors()[i];
      const TensorInfo& b = theirs->tensors()[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(quant::TypeName(a.type), quant::TypeName(b.type)) << a.name;
      if (a.type == TensorType::kQ4_0 || a.type == TensorType::kF32) {
        EXPECT_TRUE(std::equal(a.data, a.data + a.n_bytes, b.data)) << a.name << " data differs";
      }
    }
    const std::string ours_bytes = ReadFile(out), theirs_bytes = ReadFile(SharedPath(Oracle(name)));
    ASSERT_EQ(ours_bytes.size(), theirs_bytes.size());
    EXPECT_TRUE(ours_bytes.compare(0, ours->data_offset(), theirs_bytes, 0, theirs->data_offset()) == 0);
  }
}

TEST_F(ModelQuantizer, F16RoundTripIsLossless) {
  const auto out = Quantize(QuantRecipe::kF16);
  auto f = GgufFile::Open(out);
  ASSERT_TRUE(f.ok());
  for (const TensorInfo& t : f16_->tensors()) {
    const TensorInfo* u = f->FindTensor(t.name);
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->type, t.type);
    EXPECT_TRUE(std::equal(t.data, t.data + t.n_bytes, u->data)) << t.name;
  }
  EXPECT_EQ(*f->GetU32("general.file_type"), 1u);
}

TEST(ModelQuantizerRecipes, ParseAndChoose) {
  EXPECT_EQ(*ParseQuantRecipe("Q4_K_M"), QuantRecipe::kQ4_K_M);
  EXPECT_EQ(ParseQuantRecipe("q3_k_s").status().message(),
            "unknown quantization type \"q3_k_s\" (use f16, bf16, q8_0, q6_k, q4_0, q4_k_m or q5_k_m)");
  TensorInfo t;
  t.name = "blk.5.ffn_down.weight";
  t.n_dims = 2;
  t.ne = {4096, 11008, 1, 1};
  // 32 layers: use_more_bits holds for 0..3, 28..31 and (i - 4) % 3 == 2: 6, 9, ..., 27.
  EXPECT_EQ(ChooseTensorType(QuantRecipe::kQ4_K_M, t, 32), TensorType::kQ4_K);
  t.name = "blk.6.ffn_down.weight";
  EXPECT_EQ(ChooseTensorType(QuantRecipe::kQ4_K_M, t, 32), TensorType::kQ6_K);
  t.name = "blk.6.attn_q.weight";
  EXPECT_EQ(ChooseTensorType(QuantRecipe::kQ4_K_M, t, 32), TensorType::kQ4_K);
  t.ne[0] = 11008 + 32;  // rows that are not a multiple of 256 fall back
  EXPECT_EQ(ChooseTensorType(QuantRecipe::kQ4_K_M, t, 32), TensorType::kQ5_0);
  t.ne[0] = 100;
  EXPECT_EQ(ChooseTensorType(QuantRecipe::kQ8_0, t, 32), TensorType::kF16);
  t.n_dims = 1;
  EXPECT_EQ(ChooseTensorType(QuantRecipe::kQ8_0, t, 32), TensorType::kF32);
}

}  // namespace
}  // namespace dv::gguf
