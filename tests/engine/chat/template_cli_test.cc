// `deepvault template` end to end, and chat templates read from GGUF files.
#include <gtest/gtest.h>

#include <fstream>

#include "chat_test_util.h"
#include "engine/chat/gguf_template.h"
#include "engine/gguf/writer.h"

namespace dv::chat {
namespace {

using dv::testing::BinaryPath;
using dv::testing::FixturePath;
using dv::testing::RunCommand;
using dv::testing::TempDir;
using dv::testing::WriteFile;
using testing::Json;

// The HF reference record for (template, case, add_generation_prompt).
Json Reference(const std::string& tmpl, const std::string& case_name, bool generation_prompt) {
  std::ifstream in(FixturePath("hf-reference/chat_templates.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    Json r = Json::parse(line);
    if (r["template"] == tmpl && r["case"] == case_name && r["add_generation_prompt"] == generation_prompt) return r;
  }
  ADD_FAILURE() << "no reference for " << tmpl << "/" << case_name;
  return Json::object();
}

std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

std::string TemplateCommand(const std::filesystem::path& model, const std::filesystem::path& messages) {
  return Quote(BinaryPath("deepvault")) + " template -m " + Quote(model) + " --messages " + Quote(messages);
}

TEST(ChatCli, RendersLikeTransformers) {
  TempDir dir;
  for (const auto& [tmpl, case_name] : {std::pair{"deepseek-v3", "multi_turn"}, std::pair{"llama3_1", "system_user"}}) {
    const Json r = Reference(tmpl, case_name, true);
    WriteFile(dir.path() / "m.json", r["messages"].dump());
    const auto res = RunCommand(TemplateCommand(FixturePath(std::string("chat/") + tmpl + ".tokenizer_config.json"),
                                                dir.path() / "m.json") +
                                " --generation-prompt");
    ASSERT_EQ(res.exit_code, 0) << res.err;
    EXPECT_EQ(res.out, r["rendered"].get<std::string>()) << tmpl;
  }
}

TEST(ChatCli, ToolsAndKwargs) {
  TempDir dir;
  const Json tools = Reference("qwen2_5", "tools_offered", false);
  WriteFile(dir.path() / "m.json", tools["messages"].dump());
  WriteFile(dir.path() / "t.json", tools["tools"].dump());
  auto res = RunCommand(TemplateCommand(FixturePath("chat/qwen2_5.tokenizer_config.json"), dir.path() / "m.json") +
                        " --tools " + Quote(dir.path() / "t.json"));
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.out, tools["rendered"].get<std::string>());

  const Json thinking = Reference("qwen3", "qwen3_no_thinking", true);
  WriteFile(dir.path() / "m.json", thinking["messages"].dump());
  WriteFile(dir.path() / "k.json", thinking["kwargs"].dump());
  res = RunCommand(TemplateCommand(FixturePath("chat/qwen3.tokenizer_config.json"), dir.path() / "m.json") +
                   " --generation-prompt --kwargs " + Quote(dir.path() / "k.json"));
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.out, thinking["rendered"].get<std::string>());

  // An OpenAI-style request object carries its own tools.
  WriteFile(dir.path() / "req.json", Json{{"messages", tools["messages"]}, {"tools", tools["tools"]}}.dump());
  res = RunCommand(TemplateCommand(FixturePath("chat/qwen2_5.tokenizer_config.json"), dir.path() / "req.json"));
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.out, tools["rendered"].get<std::string>());
}

TEST(ChatCli, ErrorsAreReportedNotCrashed) {
  TempDir dir;
  WriteFile(dir.path() / "bad.json", "[{");
  auto res = RunCommand(TemplateCommand(FixturePath("chat/qwen3.tokenizer_config.json"), dir.path() / "bad.json"));
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_NE(res.err.find("not valid JSON"), std::string::npos) << res.err;

  res = RunCommand(TemplateCommand(dir.path() / "missing.json", dir.path() / "bad.json"));
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_NE(res.err.find("does not exist"), std::string::npos) << res.err;

  WriteFile(dir.path() / "raise.jinja", "{{ raise_exception('System role not supported') }}");
  WriteFile(dir.path() / "m.json", "[]");
  res = RunCommand(TemplateCommand(dir.path() / "raise.jinja", dir.path() / "m.json"));
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_NE(res.err.find("System role not supported"), std::string::npos) << res.err;
}

// A GGUF holding the DeepSeek-V3 template and a vocabulary with its special tokens.
std::string WriteDeepSeekGguf(const std::filesystem::path& path) {
  const Json config = Json::parse(testing::TokenizerConfigText("deepseek-v3"));
  gguf::GgufWriter w;
  EXPECT_TRUE(w.AddString("general.architecture", "deepseek2").ok());
  const std::vector<std::string> tokens = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "a", "b"};
  EXPECT_TRUE(w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(tokens)).ok());
  EXPECT_TRUE(w.AddU32("tokenizer.ggml.bos_token_id", 0).ok());
  EXPECT_TRUE(w.AddU32("tokenizer.ggml.eos_token_id", 1).ok());
  EXPECT_TRUE(w.AddU32("tokenizer.ggml.padding_token_id", 1).ok());
  EXPECT_TRUE(w.AddString("tokenizer.chat_template", config["chat_template"].get<std::string>()).ok());
  EXPECT_TRUE(w.AddString("tokenizer.chat_template.plain", "{{ bos_token }}plain").ok());
  EXPECT_TRUE(w.WriteToFile(path).ok());
  return path.string();
}

TEST(ChatGguf, TemplateAndSpecialTokensFromGguf) {
  TempDir dir;
  const auto path = WriteDeepSeekGguf(dir.path() / "m.gguf");
  auto file = gguf::GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto t = ChatTemplateFromGguf(*file);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const Json r = Reference("deepseek-v3", "tool_call_and_result", true);
  EXPECT_EQ(t->special_tokens().dump(), r["special_tokens"].dump());
  ChatTemplateInput input;
  input.messages = r["messages"];
  input.tools = r["tools"];
  input.add_generation_prompt = true;
  EXPECT_EQ(*t->Render(input), r["rendered"].get<std::string>());

  auto plain = ChatTemplateFromGguf(*file, "plain");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain->Render({}, false), "<｜begin▁of▁sentence｜>plain");
  EXPECT_EQ(ChatTemplateFromGguf(*file, "nope").status().code(), StatusCode::kNotFound);

  // Through the CLI too.
  WriteFile(dir.path() / "m.json", r["messages"].dump());
  WriteFile(dir.path() / "t.json", r["tools"].dump());
  const auto res = RunCommand(TemplateCommand(path, dir.path() / "m.json") + " --generation-prompt --tools " +
                              Quote(dir.path() / "t.json"));
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.out, r["rendered"].get<std::string>());
}

TEST(ChatGguf, TokenIdOutsideVocabularyIsRejected) {
  TempDir dir;
  gguf::GgufWriter w;
  const std::vector<std::string> tokens = {"x"};
  ASSERT_TRUE(w.AddStringArray("tokenizer.ggml.tokens", std::span<const std::string>(tokens)).ok());
  ASSERT_TRUE(w.AddU32("tokenizer.ggml.bos_token_id", 7).ok());
  ASSERT_TRUE(w.AddString("tokenizer.chat_template", "{{ bos_token }}").ok());
  ASSERT_TRUE(w.WriteToFile(dir.path() / "bad.gguf").ok());
  auto file = gguf::GgufFile::Open(dir.path() / "bad.gguf");
  ASSERT_TRUE(file.ok());
  const auto t = ChatTemplateFromGguf(*file);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("outside the vocabulary"), std::string::npos);
}

}  // namespace
}  // namespace dv::chat
