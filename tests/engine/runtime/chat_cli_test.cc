// `deepvault run --chat` end to end: stories260K rewritten with a chat template, two user turns
// piped through stdin. The per-turn JSON trace must show (1) the prompt ids of the whole rendered
// conversation, history included, exactly as tokenizing the expected text gives them; (2) the KV
// cache reused for the second turn; (3) the same greedy tokens as a fresh `run -p` of the same
// text (no state leaks between turns); "/exit" ends the chat.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "test_util.h"

namespace dv::engine {
namespace {

using dv::testing::RunCommand;

constexpr const char* kTemplate =
    "{% for m in messages %}{{ '<' + m['role'] + '>' + m['content'] + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}";

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class ChatCli : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dv::testing::BinaryPath("deepvault").string();
    auto file = gguf::GgufFile::Open(dv::testing::FixturePath("models/stories260K.gguf"));
    ASSERT_TRUE(file.ok()) << file.status().Describe();
    gguf::GgufWriter w;
    for (const auto& kv : file->metadata()) ASSERT_TRUE(w.AddValue(kv.key, kv.value).ok());
    ASSERT_TRUE(w.AddString("tokenizer.chat_template", kTemplate).ok());
    for (const auto& t : file->tensors()) {
      std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
      ASSERT_TRUE(w.AddTensor(t.name, t.type, ne, t.bytes()).ok());
    }
    model_ = (dir_.path() / "chat.gguf").string();
    ASSERT_TRUE(w.WriteToFile(model_).ok());
  }

  // ids of `text` with BOS, from `deepvault run -p` (greedy, `n` tokens): {prompt_ids, generated_ids}.
  std::pair<std::vector<int>, std::vector<int>> RunPrompt(const std::string& text, int n) {
    auto r = RunCommand(bin_ + " run -m " + Quote(model_) + " --json --temp 0 -n " + std::to_string(n) +
                        " -t 1 -c 256 -p " + Quote(text));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    return {j["prompt_ids"].get<std::vector<int>>(), j["generated_ids"].get<std::vector<int>>()};
  }

  dv::testing::TempDir dir_;
  std::string bin_, model_;
};

TEST_F(ChatCli, TwoTurnsKeepHistoryAndReuseTheCache) {
  auto r = RunCommand(bin_ + " run -m " + Quote(model_) + " --chat --json --temp 0 -n 12 -t 1 -c 256",
                      "Once upon a time\n\nThe cat sat\n/exit\nnever read\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> turns;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) turns.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(turns.size(), 2u) << r.out;  // the empty line is skipped, "/exit" ends

  const std::string first = "<user>Once upon a time\n<assistant>";
  const auto [ids1, gen1] = RunPrompt(first, 12);
  EXPECT_EQ(turns[0]["turn"], 1);
  EXPECT_EQ(turns[0]["prompt_ids"].get<std::vector<int>>(), ids1);
  EXPECT_EQ(turns[0]["reused"], 0);
  EXPECT_EQ(turns[0]["generated_ids"].get<std::vector<int>>(), gen1);
  ASSERT_FALSE(gen1.empty());

  // The second prompt holds the first exchange, the assistant's reply as the text it printed.
  const std::string reply = turns[0]["text"].get<std::string>();
  const std::string second = first + reply + "\n<user>The cat sat\n<assistant>";
  const auto [ids2, gen2] = RunPrompt(second, 12);
  EXPECT_EQ(turns[1]["turn"], 2);
  EXPECT_EQ(turns[1]["prompt_ids"].get<std::vector<int>>(), ids2);
  EXPECT_EQ(turns[1]["generated_ids"].get<std::vector<int>>(), gen2);
  // Everything up to the first reply's tokens is already in the cache.
  const int reused = turns[1]["reused"].get<int>();
  EXPECT_GE(reused, static_cast<int>(ids1.size()));
  EXPECT_LT(reused, static_cast<int>(ids2.size()));
}

TEST_F(ChatCli, SpecialTokenTextTypedByTheUserStaysText) {
  // "</s>" is stories260K's EOS (id 2); typed by the user it must not become the control token.
  auto r = RunCommand(bin_ + " run -m " + Quote(model_) + " --chat --json --temp 0 -n 2 -t 1 -c 128", "a </s> b\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto turn = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  const auto ids = turn["prompt_ids"].get<std::vector<int>>();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 0) << turn.dump();
  EXPECT_EQ(ids, RunPrompt("<user>a </s> b\n<assistant>", 1).first);  // run -p never parses specials
}

TEST_F(ChatCli, ThinkingIsMarkedPlainlyWhenNotATerminal) {
  // A template whose generation prompt opens the reasoning block, as DeepSeek-R1-0528's does.
  gguf::GgufWriter w;
  auto file = gguf::GgufFile::Open(model_);
  ASSERT_TRUE(file.ok());
  for (const auto& kv : file->metadata()) {
    if (kv.key == "tokenizer.chat_template") {
      ASSERT_TRUE(w.AddString(kv.key, "{{ messages[-1]['content'] + '<think>\\n' }}").ok());
    } else {
      ASSERT_TRUE(w.AddValue(kv.key, kv.value).ok());
    }
  }
  for (const auto& t : file->tensors()) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    ASSERT_TRUE(w.AddTensor(t.name, t.type, ne, t.bytes()).ok());
  }
  const std::string think_model = (dir_.path() / "think.gguf").string();
  ASSERT_TRUE(w.WriteToFile(think_model).ok());
  auto r = RunCommand(bin_ + " run -m " + Quote(think_model) + " --chat --temp 0 -n 6 -t 1 -c 128", "Hello\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("<think>\n", 0), 0u) << "[" << r.out << "] " << r.err;  // plain marker
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
}

TEST_F(ChatCli, ModelWithoutTemplateIsAClearError) {
  auto r = RunCommand(bin_ + " run -m " + Quote(dv::testing::FixturePath("models/stories260K.gguf").string()) +
                          " --chat -t 1",
                      "hi\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
}

TEST_F(ChatCli, CacheTypeOptionIsValidated) {
  auto r = RunCommand(bin_ + " run -m " + Quote(model_) + " --cache-type q4_0 -p hi");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("q4_0"), std::string::npos) << r.err;
  // stories260K's heads have 8 dimensions: no Q8_0 cache, said clearly.
  r = RunCommand(bin_ + " run -m " + Quote(model_) + " --cache-type q8_0 -t 1 -p hi");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("divisible by 32"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dv::engine
