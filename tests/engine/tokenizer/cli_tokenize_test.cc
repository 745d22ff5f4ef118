// `deepvault tokenize` / `deepvault detokenize` end to end, against the llama.cpp vectors.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace dv::tok {
namespace {

using dv::testing::BinaryPath;
using dv::testing::FixturePath;
using dv::testing::RunCommand;

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

class CliTokenize : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = BinaryPath("deepvault").string();
    if (!std::filesystem::exists(bin_)) GTEST_SKIP() << "deepvault binary not built: " << bin_;
    spm_ = FixturePath("tokenizers/llamacpp/ggml-vocab-llama-spm.gguf").string();
    llama3_ = FixturePath("tokenizers/llama3/tokenizer.json.gz").string();
  }
  std::string bin_, spm_, llama3_;
};

TEST_F(CliTokenize, PrintsIdsLikeTheReference) {
  // From ggml-vocab-llama-spm.gguf.out: " Hello, world!" → 29871 15043 29892 3186 29991
  auto r = RunCommand(bin_ + " tokenize -m " + Quote(spm_) + " -- ' Hello, world!'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "29871 15043 29892 3186 29991\n");
}

TEST_F(CliTokenize, TextStartingWithDashEmptyTextAndNewlines) {
  auto dash = RunCommand(bin_ + " tokenize -m " + Quote(llama3_) + " -- '-x'");
  EXPECT_EQ(dash.exit_code, 0) << dash.err;
  EXPECT_FALSE(dash.out.empty());
  auto empty = RunCommand(bin_ + " tokenize -m " + Quote(llama3_) + " ''");
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "\n");
  // From ggml-vocab-llama-bpe.gguf.out: "\n\n\n" → 1432
  auto newlines = RunCommand(bin_ + " tokenize -m " + Quote(llama3_) + " \"$(printf '\\n\\n\\nx')\"");
  EXPECT_EQ(newlines.exit_code, 0) << newlines.err;
  EXPECT_EQ(newlines.out.substr(0, 5), "1432 ");
  auto stdin_text = RunCommand(bin_ + " tokenize -m " + Quote(spm_), " Hello");
  EXPECT_EQ(stdin_text.out, "29871 15043\n");  // " Hello" (reference line 25)
}

TEST_F(CliTokenize, SpecialTokensOnlyOnRequest) {
  auto plain = RunCommand(bin_ + " tokenize -m " + Quote(llama3_) + " '<|eot_id|>'");
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_EQ(plain.out.find("128009"), std::string::npos) << plain.out;
  auto special = RunCommand(bin_ + " tokenize --special -m " + Quote(llama3_) + " '<|eot_id|>'");
  EXPECT_EQ(special.out, "128009\n");
  // The LLaMA vocabulary has add_bos_token = true, bos = 1; nothing is added without the flag.
  auto bos = RunCommand(bin_ + " tokenize --add-special -m " + Quote(spm_) + " 'Hello'");
  EXPECT_EQ(bos.out, "1 15043\n");
}

TEST_F(CliTokenize, JsonOutput) {
  auto r = RunCommand(bin_ + " tokenize --json -m " + Quote(spm_) + " 'Hello'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ids\":[15043],\"pieces\":[\"\xE2\x96\x81Hello\"]}\n");
}

TEST_F(CliTokenize, DetokenizeAndErrors) {
  auto r = RunCommand(bin_ + " detokenize -m " + Quote(spm_) + " 15043 29892 3186");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world");
  auto out_of_range = RunCommand(bin_ + " detokenize -m " + Quote(spm_) + " 15043 32000");
  EXPECT_NE(out_of_range.exit_code, 0);
  EXPECT_NE(out_of_range.err.find("32000 is outside the vocabulary (size 32000)"), std::string::npos) << out_of_range.err;
  auto not_number = RunCommand(bin_ + " detokenize -m " + Quote(spm_) + " 12x");
  EXPECT_NE(not_number.exit_code, 0);
  EXPECT_NE(not_number.err.find("not a token id: \"12x\""), std::string::npos) << not_number.err;
  auto missing = RunCommand(bin_ + " tokenize -m /nonexistent/tokenizer.json x");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace dv::tok
