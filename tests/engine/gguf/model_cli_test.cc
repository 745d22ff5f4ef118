// `deepvault model info`, `model quantize` and `model convert` end to end, on llama.cpp's files,
// on the tiny HF checkpoints and on broken inputs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "engine/gguf/writer.h"
#include "gguf_bytes.h"
#include "test_util.h"

namespace dv::gguf {
namespace {

using dv::testing::BinaryPath;
using dv::testing::RunCommand;
using dv::testing::SharedPath;

// The binary, quoted for the shell (built with append: GCC 12 warns falsely on "'" + string).
std::string Dv() {
  std::string quoted = "'";
  quoted.append(BinaryPath("deepvault").string());
  quoted.push_back('\'');
  return quoted;
}

TEST(ModelInfoCli, DescribesQ4KMOracleFile) {
  const auto path = SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-q4_k_m.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared fixtures are absent";
  auto r = RunCommand(Dv() + " model info --json '" + path.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "qwen2");
  EXPECT_EQ(j["file_type"], "Q4_K_M");  // llama_ftype 15
  EXPECT_EQ(j["block_count"], 2);
  EXPECT_EQ(j["embedding_length"], 256);
  EXPECT_EQ(j["feed_forward_length"], 768);
  EXPECT_EQ(j["head_count"], 8);
  EXPECT_EQ(j["head_count_kv"], 4);
  EXPECT_EQ(j["context_length"], 2048);
  EXPECT_EQ(j["rope_freq_base"], 1e6);
  EXPECT_EQ(j["file_size"], 1147296);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 512);
  EXPECT_EQ(j["tokenizer"]["model"], "llama");
  EXPECT_EQ(j["has_chat_template"], false);
  // Parameters of the README's configuration: embeddings and output 2*512*256, 2 layers of
  // q,k,v,o (256*256 + 2*256*128 + 256*256), biases (256+128+128), FFN 3*256*768, 2 norms; final norm.
  const uint64_t layer = 256 * 256 * 2 + 2 * 256 * 128 + 512 + 3 * 256 * 768 + 2 * 256;
  EXPECT_EQ(j["parameters"], 2 * 512 * 256 + 2 * layer + 256);
  EXPECT_EQ(j["tensor_types"]["Q4_K"]["tensors"], 13);  // what llama-quantize chose (see gguf_reader_test)
  EXPECT_EQ(j["tensor_types"]["F32"]["tensors"], 11);
  EXPECT_GT(j["bits_per_weight"].get<double>(), 4.5);

  auto text = RunCommand(Dv() + " model info '" + path.string() + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("architecture     qwen2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("heads            8 (KV heads 4)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("chat template    no"), std::string::npos) << text.out;
}

TEST(ModelInfoCli, PrintsChatTemplate) {
  dv::testing::TempDir dir;
  GgufWriter w;
  ASSERT_TRUE(w.AddString("general.architecture", "qwen2").ok());
  ASSERT_TRUE(w.AddString("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}").ok());
  const auto path = dir.path() / "t.gguf";
  ASSERT_TRUE(w.WriteToFile(path).ok());
  auto r = RunCommand(Dv() + " model info --template '" + path.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{% for m in messages %}{{ m.content }}{% endfor %}\n");
  auto info = RunCommand(Dv() + " model info '" + path.string() + "'");
  EXPECT_NE(info.out.find("chat template    yes (50 bytes"), std::string::npos) << info.out;
}

TEST(ModelInfoCli, ErrorsNameTheFileAndExitNonZero) {
  dv::testing::TempDir dir;
  const auto missing = dir.path() / "missing.gguf";
  auto r = RunCommand(Dv() + " model info '" + missing.string() + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err, "deepvault: " + missing.string() + ": cannot open: No such file or directory\n");

  const auto bad = dir.path() / "bad.gguf";
  testing::GgufBytes b;
  b.Header(1, 0).Tensor("blk.0.ffn_down.weight", {256}, 17, 0).Pad().Zeros(74);
  dv::testing::WriteFile(bad, b.str());
  r = RunCommand(Dv() + " model info '" + bad.string() + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err, "deepvault: " + bad.string() + ": unsupported type IQ2_XS in tensor blk.0.ffn_down.weight\n");

  const auto text = dir.path() / "notes.txt";
  dv::testing::WriteFile(text, "hello, this is not a model");
  r = RunCommand(Dv() + " model info '" + text.string() + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err, "deepvault: " + text.string() + ": not a GGUF file (bad magic)\n");

  r = RunCommand(Dv() + " model info --template '" + (dir.path() / "bad.gguf").string() + "'");
  EXPECT_NE(r.exit_code, 0);
}

TEST(ModelQuantizeCli, WritesLlamaCppIdenticalQ8_0) {
  const auto f16 = SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.gguf");
  if (f16.empty()) GTEST_SKIP() << "../shared fixtures are absent";
  dv::testing::TempDir dir;
  const auto out = dir.path() / "q8.gguf";
  auto r = RunCommand(Dv() + " model quantize '" + f16.string() + "' '" + out.string() + "' Q8_0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + out.string() + ": 11 F32, 16 Q8_0"), std::string::npos) << r.out;
  EXPECT_TRUE(dv::testing::ReadFile(out) ==
              dv::testing::ReadFile(SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-q8_0.gguf")));

  r = RunCommand(Dv() + " model quantize '" + f16.string() + "' '" + out.string() + "' iq2_xs");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown quantization type \"iq2_xs\""), std::string::npos) << r.err;
  r = RunCommand(Dv() + " model quantize '" + (dir.path() / "none.gguf").string() + "' '" + out.string() + "' q8_0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("none.gguf: cannot open"), std::string::npos) << r.err;
}

TEST(ModelConvertCli, ConvertsHfFolderThatModelInfoDescribes) {
  dv::testing::TempDir dir;
  const std::string out = (dir.path() / "tiny-qwen3-q8_0.gguf").string();
  const std::string hf = dv::testing::FixturePath("hf-models/tiny-qwen3").string();
  auto r = RunCommand(Dv() + " model convert '" + hf + "' -o '" + out + "' --type q8_0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("qwen3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokenizer.ggml.pre = gpt-2"), std::string::npos) << r.out;
  r = RunCommand(Dv() + " model info --json '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // The values of tests/fixtures/hf-models/tiny-qwen3/config.json.
  EXPECT_EQ(j["architecture"], "qwen3");
  EXPECT_EQ(j["file_type"], "Q8_0");  // llama_ftype 7
  EXPECT_EQ(j["block_count"], 2);
  EXPECT_EQ(j["embedding_length"], 64);
  EXPECT_EQ(j["feed_forward_length"], 160);
  EXPECT_EQ(j["head_count"], 4);
  EXPECT_EQ(j["head_count_kv"], 2);
  EXPECT_EQ(j["context_length"], 4096);
  EXPECT_EQ(j["rope_freq_base"], 1e6);
  EXPECT_EQ(j["name"], "tiny-qwen3");
  r = RunCommand(Dv() + " model info '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("gpt2 (pre gpt-2), 512 tokens, BOS 0, EOS 1"), std::string::npos) << r.out;
}

TEST(ModelConvertCli, ErrorsAreSpecific) {
  dv::testing::TempDir dir;
  const std::string out = (dir.path() / "x.gguf").string();
  const std::string hf = dv::testing::FixturePath("hf-models/tiny-llama").string();
  auto r = RunCommand(Dv() + " model convert '" + hf + "' -o '" + out + "' --type q2_k");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown output type \"q2_k\""), std::string::npos) << r.err;
  r = RunCommand(Dv() + " model convert '" + (dir.path() / "absent").string() + "' -o '" + out + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is not a folder"), std::string::npos) << r.err;
  r = RunCommand(Dv() + " model convert '" + hf + "' -o '" + out + "' --tokenizer-pre nope");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--tokenizer-pre \"nope\""), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace dv::gguf
