// The public API around the interpreter: loading templates from tokenizer_config.json, the
// ChatMessage convenience type, special tokens, concurrency, HF globals and extensions.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <thread>

#include "chat_test_util.h"

namespace dv::chat {
namespace {

using testing::Json;
using testing::RenderWith;
using testing::TokenizerConfigText;

TEST(ChatApi, LoadsSpecialTokensFromAddedTokenObjects) {
  auto t = ChatTemplate::FromTokenizerConfig(TokenizerConfigText("deepseek-v3"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->special_tokens()["bos_token"], "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(t->special_tokens()["eos_token"], "<｜end▁of▁sentence｜>");
  EXPECT_FALSE(t->special_tokens().contains("unk_token"));  // null in the config
}

TEST(ChatApi, NamedTemplateLists) {
  const std::string config = R"({"chat_template": [{"name": "default", "template": "D{{ bos_token }}"},
                                                  {"name": "tool_use", "template": "T"}], "bos_token": "<s>"})";
  auto d = ChatTemplate::FromTokenizerConfig(config);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d->Render({}, false), "D<s>");
  auto t = ChatTemplate::FromTokenizerConfig(config, "tool_use");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->Render({}, false), "T");
  auto missing = ChatTemplate::FromTokenizerConfig(config, "rag");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("default, tool_use"), std::string::npos);
}

TEST(ChatApi, BadTokenizerConfigsAreClearErrors) {
  EXPECT_EQ(ChatTemplate::FromTokenizerConfig("{not json").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ChatTemplate::FromTokenizerConfig("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ChatTemplate::FromTokenizerConfig(R"({"bos_token": "x"})").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ChatTemplate::FromTokenizerConfig(R"({"chat_template": 5})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ChatTemplate::FromTokenizerConfig(R"({"chat_template": "x", "bos_token": 7})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ChatTemplate::FromTokenizerConfig(R"({"chat_template": "{% if %}"})").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ChatApi, SpecialTokensAreValidated) {
  auto t = ChatTemplate::Compile("{{ bos_token }}|{{ additional_special_tokens|join(',') }}");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->SetSpecialTokens(Json{{"bos_token", 1}}).ok());
  EXPECT_FALSE(t->SetSpecialTokens(Json::array()).ok());
  ASSERT_TRUE(t->SetSpecialTokens(Json{{"bos_token", "<s>"}, {"additional_special_tokens", {"<a>", "<b>"}}}).ok());
  EXPECT_EQ(*t->Render({}, false), "<s>|<a>,<b>");
}

// ChatMessage is a typed way to build the same dicts: the HF reference conversations built
// through it render identically.
TEST(ChatApi, ChatMessageMatchesTheJsonPath) {
  std::ifstream in(dv::testing::FixturePath("hf-reference/chat_templates.jsonl"));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    const Json r = Json::parse(line);
    if (!r["tools"].is_null() || !r["kwargs"].empty() || r.contains("error")) continue;
    auto t = ChatTemplate::FromTokenizerConfig(TokenizerConfigText(r["template"].get<std::string>()));
    ASSERT_TRUE(t.ok());
    std::vector<ChatMessage> messages;
    for (const Json& m : r["messages"]) {
      ChatMessage cm;
      cm.role = m["role"].get<std::string>();
      cm.content = m["content"];
      if (m.contains("reasoning_content")) cm.reasoning_content = m["reasoning_content"].get<std::string>();
      if (m.contains("name")) cm.name = m["name"].get<std::string>();
      if (m.contains("tool_call_id")) cm.tool_call_id = m["tool_call_id"].get<std::string>();
      if (m.contains("tool_calls")) cm.tool_calls = m["tool_calls"];
      messages.push_back(std::move(cm));
    }
    const auto out = t->Render(messages, r["add_generation_prompt"].get<bool>());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, r["rendered"].get<std::string>()) << r["template"] << " " << r["case"];
    ++checked;
  }
  EXPECT_GE(checked, 100);
}

TEST(ChatApi, ChatMessageCarriesEveryField) {
  ChatMessage m;
  m.role = "assistant";
  m.content = Json::array({Json{{"type", "text"}, {"text", "part"}}});
  m.reasoning_content = "why";
  m.name = "bot";
  m.tool_call_id = "call_9";
  m.tool_calls = Json::parse(R"([{"type": "function", "function": {"name": "f", "arguments": "{}"}}])");
  auto t = ChatTemplate::Compile(
      "{% for m in messages %}{{ m.role }}|{{ m.content[0].text }}|{{ m.reasoning_content }}|{{ m.name }}|"
      "{{ m.tool_call_id }}|{{ m.tool_calls[0].function.name }}|{{ m.missing is defined }}{% endfor %}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->Render({m}, false), "assistant|part|why|bot|call_9|f|False");
  ChatMessage bare;
  bare.role = "assistant";  // content left null, as for a tool-call-only turn
  auto t2 = ChatTemplate::Compile("{{ messages[0].content is none }} {{ messages[0].tool_calls is defined }}");
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(*t2->Render({bare}, false), "True False");
}

TEST(ChatApi, ToolsAndDocumentsDefaultToNone) {
  auto out = RenderWith("{{ tools is none }} {{ tools is defined }} {{ documents is none }} {{ add_generation_prompt }}");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "True True True False");
}

TEST(ChatApi, ConcurrentRendersShareOneCompiledTemplate) {
  auto t = ChatTemplate::FromTokenizerConfig(TokenizerConfigText("qwen3"));
  ASSERT_TRUE(t.ok());
  ChatTemplateInput input;
  input.messages = Json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "你好"},
      {"role": "assistant", "content": "<think>\nhm\n</think>\n\nA", "tool_calls": [{"type": "function",
       "function": {"name": "f", "arguments": {"x": [1, 2]}}}]}, {"role": "tool", "content": "r"}])");
  input.tools = Json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {}}}])");
  input.add_generation_prompt = true;
  const auto expected = t->Render(input);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) {
        const auto out = t->Render(input);
        if (!out.ok() || *out != *expected) ++mismatches[i];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(mismatches[i], 0) << "thread " << i;
}

TEST(ChatApi, StrftimeNowFormatsTheCurrentDate) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  auto out = RenderWith("{{ strftime_now('%Y') }}");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, std::to_string(local.tm_year + 1900));
}

TEST(ChatApi, GenerationBlocksRenderTheirBody) {
  // HF's AssistantTracker extension: {% generation %} marks assistant text and renders it as is.
  auto out = RenderWith("{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
                        "{% else %}[{{ m.content }}]{% endif %}{% endfor %}",
                        Json{{"messages", Json::parse(R"([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])")}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "[q]a");
}

TEST(ChatApi, DeepSeekTemplateReadByHand) {
  // The rendering derived by reading the DeepSeek-V3 template: system prompts first, then
  // <｜User｜>/<｜Assistant｜> turns, assistant turns closed by <｜end▁of▁sentence｜>.
  auto t = ChatTemplate::FromTokenizerConfig(TokenizerConfigText("deepseek-v3"));
  ASSERT_TRUE(t.ok());
  ChatTemplateInput input;
  input.messages = Json::parse(R"([{"role": "system", "content": "你是助手"}, {"role": "user", "content": "1+1?"},
                                   {"role": "assistant", "content": "2"}, {"role": "user", "content": "2+2?"}])");
  input.add_generation_prompt = true;
  EXPECT_EQ(*t->Render(input),
            "<｜begin▁of▁sentence｜>你是助手<｜User｜>1+1?<｜Assistant｜>2<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜>");
}

}  // namespace
}  // namespace dv::chat
