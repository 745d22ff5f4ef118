// Tool-call parsing on the exact text Qwen2.5/Qwen3 and DeepSeek-V3/R1 emit (formats from their
// published chat templates), streamed in arbitrary pieces.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/tool_calls.h"

namespace dv::server {
namespace {

// Feeds `text` in pieces of `step` bytes; returns the content and fills *calls.
std::string Stream(std::string_view text, size_t step, std::vector<ToolCall>* calls) {
  ToolCallStream s;
  std::string content;
  for (size_t i = 0; i < text.size(); i += step) content += s.Feed(text.substr(i, step));
  content += s.Finish(calls);
  return content;
}

TEST(ServerTools, QwenHermesCallsParseInAnyPieces) {
  // Qwen2.5-7B-Instruct answering "weather in Paris and Tokyo?" with two parallel calls.
  const std::string out =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>";
  for (size_t step : {1, 3, 7, 1000}) {
    std::vector<ToolCall> calls;
    EXPECT_EQ(Stream(out, step, &calls), "") << step;
    ASSERT_EQ(calls.size(), 2u) << step;
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(calls[0].arguments), nlohmann::json::parse(R"({"city":"Paris","unit":"celsius"})"));
    EXPECT_EQ(nlohmann::json::parse(calls[1].arguments)["city"], "東京");
  }
}

TEST(ServerTools, ContentBeforeACallIsStreamedAndPartialMarkersAreHeld) {
  ToolCallStream s;
  EXPECT_EQ(s.Feed("Let me check. <tool"), "Let me check. ");  // "<tool" may begin a marker
  EXPECT_EQ(s.Feed("_call>\n{\"name\":\"f\",\"arguments\":{}}\n</tool_call>"), "");
  std::vector<ToolCall> calls;
  EXPECT_EQ(s.Finish(&calls), "");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments, "{}");
  // Plain text that only looks like a marker's start is released.
  ToolCallStream plain;
  EXPECT_EQ(plain.Feed("a <b"), "a <b");
  EXPECT_EQ(plain.Feed("<to"), "");
  EXPECT_EQ(plain.Finish(&calls), "<to");
  EXPECT_TRUE(calls.empty());
}

TEST(ServerTools, DeepSeekV3AndR1Format) {
  // DeepSeek-V3 / R1 chat template: function<sep>NAME, arguments in a ```json block.
  const std::string v3 =
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Hangzhou\"}\n```"
      "<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜>"
      "<｜tool▁calls▁end｜>";
  std::vector<ToolCall> calls;
  EXPECT_EQ(Stream(v3, 5, &calls), "");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "get_weather");
  EXPECT_EQ(calls[0].arguments, R"({"location":"Hangzhou"})");
  EXPECT_EQ(calls[1].name, "get_time");
  // V3.1 style: NAME<sep>ARGUMENTS.
  auto v31 = ParseToolCalls("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"q\": \"深度求索\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
  ASSERT_TRUE(v31.ok()) << v31.status().Describe();
  EXPECT_EQ((*v31)[0].name, "search");
  EXPECT_EQ(nlohmann::json::parse((*v31)[0].arguments)["q"], "深度求索");
}

TEST(ServerTools, MalformedCallsStayContent) {
  for (const char* bad : {"<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>",
                          "<tool_call>\nnot json\n</tool_call>", "<tool_call>{\"arguments\":{}}</tool_call>",
                          "<｜tool▁call▁begin｜>get_weather{}<｜tool▁call▁end｜>"}) {
    EXPECT_FALSE(ParseToolCalls(bad).ok()) << bad;
    std::vector<ToolCall> calls;
    EXPECT_EQ(Stream(bad, 4, &calls), bad);
    EXPECT_TRUE(calls.empty());
  }
}

TEST(ServerTools, WrappersMatchTheParser) {
  for (ToolFormat f : {ToolFormat::kHermes, ToolFormat::kDeepSeek}) {
    const ToolCallWrapper w = WrapperFor(f, "lookup");
    const std::string json = f == ToolFormat::kHermes ? R"({"name":"lookup","arguments":{"id":7}})" : R"({"id":7})";
    auto calls = ParseToolCalls(w.prefix + json + w.suffix);
    ASSERT_TRUE(calls.ok()) << calls.status().Describe();
    ASSERT_EQ(calls->size(), 1u);
    EXPECT_EQ((*calls)[0].name, "lookup");
    EXPECT_EQ((*calls)[0].arguments, R"({"id":7})");
  }
  EXPECT_EQ(DetectToolFormat("{{'<｜tool▁calls▁begin｜>'}}"), ToolFormat::kDeepSeek);
  EXPECT_EQ(DetectToolFormat("<tool_call>\\n"), ToolFormat::kHermes);
}

}  // namespace
}  // namespace dv::server
