// Request validation, text assembly and sampling: the pieces between the socket and the model.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "server/api_request.h"
#include "server/json_input.h"
#include "server/metrics.h"
#include "server/text_assembler.h"
#include "engine/tokenizer/load_gguf.h"
#include "test_util.h"

namespace dv::server {
namespace {

TEST(ServerJsonInput, RejectsDeepNestingBeforeParsing) {
  const std::string deep = std::string(10'000, '[') + std::string(10'000, ']');
  auto r = ParseJsonObject(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("nested deeper than 64"), std::string::npos) << r.status().message();
  // Brackets inside strings do not count.
  auto ok = ParseJsonObject(R"({"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})");
  EXPECT_TRUE(ok.ok()) << ok.status().message();
}

TEST(ServerJsonInput, RejectsInvalidUtf8WithOffset) {
  auto r = ParseJsonObject(std::string("{\"a\": \"x\xC3\x28\"}"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not valid UTF-8 (first bad byte at offset 8)"), std::string::npos)
      << r.status().message();
}

TEST(ServerJsonInput, RejectsLoneSurrogateEscapeAndNonObjects) {
  EXPECT_FALSE(ParseJsonObject(R"({"a": "\ud800"})").ok());
  auto arr = ParseJsonObject("[1,2]");
  ASSERT_FALSE(arr.ok());
  EXPECT_NE(arr.status().message().find("must be a JSON object, got array"), std::string::npos);
  auto bad = ParseJsonObject("{\"a\": 1,}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_FALSE(ParseJsonObject("").ok());
}

TEST(ServerApiRequest, ChatValidationNamesTheField) {
  auto parse = [](const char* text) { return ParseOpenAiChat(*ParseJsonObject(text)); };
  struct Case {
    const char* body;
    const char* message_part;
  } cases[] = {
      {R"({"messages":[{"role":"user","content":"hi"}]})", "model is required"},
      {R"({"model":"m","messages":"hi"})", "messages must be an array, got string"},
      {R"({"model":"m","messages":[]})", "at least one message"},
      {R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})", "messages[0].role must be one of"},
      {R"({"model":"m","messages":[{"role":"user","content":5}]})", "messages[0].content must be a string"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-5})",
       "max_tokens must be an integer in [1, 1048576], got -5"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1e12})", "max_tokens must be an integer"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"10"})",
       "max_tokens must be an integer in [1, 1048576], got string"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":1000})", "n must be an integer in [1, 16]"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21})",
       "top_logprobs must be an integer in [0, 20]"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "requires logprobs"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3})", "temperature must be a number"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"logit_bias":{"abc":1}})", "logit_bias keys"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})",
       "only allowed when stream is true"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.body << " → " << r.status().message();
  }
}

TEST(ServerApiRequest, ChatAcceptsTheOpenAiShape) {
  auto r = ParseOpenAiChat(*ParseJsonObject(R"({
    "model":"m","messages":[{"role":"developer","content":"be brief"},
                            {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
    "max_completion_tokens":7,"max_tokens":99,"temperature":0,"top_p":0.5,"n":2,"stop":["x","y"],"seed":42,
    "presence_penalty":0.5,"frequency_penalty":-0.5,"logit_bias":{"17":-100},"logprobs":true,"top_logprobs":3,
    "stream":true,"stream_options":{"include_usage":true},"user":"u1","response_format":{"type":"text"}})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->messages[0]["role"], "system");
  EXPECT_EQ(r->messages[1]["content"], "ab");
  EXPECT_EQ(r->max_tokens, 7);  // max_completion_tokens wins
  EXPECT_EQ(r->n, 2);
  EXPECT_EQ(r->stop.size(), 2u);
  EXPECT_TRUE(r->sampling.has_seed);
  EXPECT_EQ(r->sampling.seed, 42u);
  ASSERT_EQ(r->sampling.logit_bias.size(), 1u);
  EXPECT_EQ(r->sampling.logit_bias[0].first, 17);
  EXPECT_EQ(r->top_logprobs, 3);
  EXPECT_TRUE(r->stream && r->include_usage);
  EXPECT_EQ(r->user, "u1");
}

TEST(ServerApiRequest, UnsupportedFeaturesAre501NotSilentlyIgnored) {
  auto image = ParseOpenAiChat(*ParseJsonObject(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})"));
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kUnimplemented);
}

TEST(ServerGrammar, ResponseFormatCompilesTheSchemaOrNamesTheProblem) {
  auto chat = [](const std::string& format) {
    return ParseOpenAiChat(*ParseJsonObject(R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":)" +
                                            format + "}"));
  };
  auto object = chat(R"({"type":"json_object"})");
  ASSERT_TRUE(object.ok()) << object.status().Describe();
  EXPECT_NE(object->json_schema, nullptr);
  auto schema = chat(R"({"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}})");
  ASSERT_TRUE(schema.ok()) << schema.status().Describe();
  EXPECT_NE(schema->json_schema, nullptr);
  auto bad = chat(R"({"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","pattern":"a+"}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "response_format.json_schema.schema: unsupported JSON schema keyword \"pattern\" at $");
  EXPECT_EQ(ErrorParam(bad.status()), "response_format.json_schema.schema");
  auto never = chat(R"({"type":"json_schema","json_schema":{"name":"x","schema":{"type":"array","minItems":2,"maxItems":1}}})");
  ASSERT_FALSE(never.ok());
  EXPECT_NE(never.status().message().find("cannot be satisfied"), std::string::npos);
  auto ollama = ParseOllamaChat(*ParseJsonObject(R"({"model":"m","messages":[],"format":"json"})"));
  ASSERT_TRUE(ollama.ok());
  EXPECT_NE(ollama->json_schema, nullptr);
}

TEST(ServerTools, ToolsAndToolChoiceAreValidated) {
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
         "properties":{"city":{"type":"string"}},"required":["city"]}}}])";
  auto parse = [&](const std::string& extra) {
    return ParseOpenAiChat(*ParseJsonObject(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + tools +
                                            extra + "}"));
  };
  auto automatic = parse("");
  ASSERT_TRUE(automatic.ok()) << automatic.status().Describe();
  EXPECT_EQ(automatic->tool_choice, ToolChoice::kAuto);
  EXPECT_TRUE(automatic->tools.is_array());
  EXPECT_EQ(automatic->tool_call_schema, nullptr);
  auto named = parse(R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})");
  ASSERT_TRUE(named.ok()) << named.status().Describe();
  EXPECT_EQ(named->tool_choice, ToolChoice::kNamed);
  EXPECT_NE(named->tool_call_schema, nullptr);
  EXPECT_NE(named->tool_params_schema, nullptr);
  auto unknown = parse(R"(,"tool_choice":{"type":"function","function":{"name":"nope"}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(ErrorParam(unknown.status()), "tool_choice.function.name");
  auto none = parse(R"(,"tool_choice":"none")");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->tools.is_null());
  auto bad_name = ParseOpenAiChat(*ParseJsonObject(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"a b"}}]})"));
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(ErrorParam(bad_name.status()), "tools[0].function.name");
}

TEST(ServerApiRequest, ErrorParamNamesTheField) {
  auto role = ParseOpenAiChat(*ParseJsonObject(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})"));
  ASSERT_FALSE(role.ok());
  EXPECT_EQ(ErrorParam(role.status()), "messages[0].role");
  auto temp = ParseOpenAiChat(*ParseJsonObject(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":9})"));
  ASSERT_FALSE(temp.ok());
  EXPECT_EQ(ErrorParam(temp.status()), "temperature");
  auto model = ParseOpenAiChat(*ParseJsonObject(R"({"messages":[{"role":"user","content":"x"}]})"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(ErrorParam(model.status()), "model");
  EXPECT_EQ(ErrorParam(InvalidArgument("the prompt is empty after tokenization")), "");
  EXPECT_EQ(ErrorParam(NotFound("model x")), "");
}

TEST(ServerApiRequest, OllamaOptionsAndKeepAlive) {
  auto r = ParseOllamaChat(*ParseJsonObject(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "options":{"temperature":0,"top_k":5,"num_predict":12,"seed":3,"stop":"\n","repeat_penalty":1.2},
      "think":true,"keep_alive":"1h30m"})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->stream);  // Ollama's default
  EXPECT_EQ(r->sampling.temperature, 0);
  EXPECT_EQ(r->sampling.top_k, 5);
  EXPECT_EQ(r->max_tokens, 12);
  EXPECT_EQ(r->stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(r->keep_alive_s, 5400);
  EXPECT_EQ(r->template_kwargs["enable_thinking"], true);
  auto bad = ParseOllamaChat(*ParseJsonObject(R"({"model":"m","options":{"top_k":"many"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("options.top_k must be an integer"), std::string::npos);
  EXPECT_FALSE(ParseKeepAlive(nlohmann::json("5 parsecs")).ok());
  EXPECT_EQ(*ParseKeepAlive(nlohmann::json(-1)), -1);
  EXPECT_EQ(*ParseKeepAlive(nlohmann::json("10s")), 10);
}

std::unique_ptr<tok::Tokenizer> StoriesTokenizer() {
  auto spec = tok::LoadGgufSpec(dv::testing::FixturePath("models/stories260K.gguf"));
  EXPECT_TRUE(spec.ok()) << spec.status().Describe();
  auto t = tok::Tokenizer::Create(std::move(spec).value());
  EXPECT_TRUE(t.ok());
  return std::move(t).value();
}

std::string FeedAll(TextAssembler& a, const std::vector<int32_t>& ids, std::string* reasoning, bool* stopped) {
  std::string content;
  for (int32_t id : ids) {
    TextDelta d = a.Feed(id, stopped);
    content += d.content;
    *reasoning += d.reasoning;
    if (*stopped) return content;
  }
  TextDelta d = a.Finish();
  *reasoning += d.reasoning;
  return content + d.content;
}

TEST(ServerTextAssembler, StopStringCutsAcrossTokenBoundaries) {
  auto tok = StoriesTokenizer();
  auto ids = tok->Encode("Once upon a time, there was a little girl.");
  ASSERT_TRUE(ids.ok());
  TextAssembler a(*tok, {"e was"}, false, false);
  std::string reasoning;
  bool stopped = false;
  const std::string out = FeedAll(a, *ids, &reasoning, &stopped);
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "Once upon a time, ther");
}

TEST(ServerTextAssembler, SplitsReasoningWhenThePromptOpensThink) {
  auto tok = StoriesTokenizer();
  auto ids = tok->Encode("Lily thinks.</think>\n\nShe plays.");
  ASSERT_TRUE(ids.ok());
  TextAssembler a(*tok, {}, true, /*starts_in_reasoning=*/true);
  std::string reasoning;
  bool stopped = false;
  const std::string content = FeedAll(a, *ids, &reasoning, &stopped);
  EXPECT_EQ(reasoning, "Lily thinks.");
  EXPECT_EQ(content, "She plays.");
  EXPECT_TRUE(PromptOpensThink("<|Assistant|><think>\n"));
  EXPECT_FALSE(PromptOpensThink("<|Assistant|>"));
}

TEST(ServerTextAssembler, ReasoningBlockOpenedByTheModel) {
  auto tok = StoriesTokenizer();
  auto ids = tok->Encode("<think>hmm</think>Yes.");
  ASSERT_TRUE(ids.ok());
  TextAssembler a(*tok, {}, true, false);
  std::string reasoning;
  bool stopped = false;
  const std::string content = FeedAll(a, *ids, &reasoning, &stopped);
  EXPECT_EQ(reasoning, "hmm");
  EXPECT_EQ(content, "Yes.");
}

TEST(ServerMetrics, PrometheusTextFormat) {
  Metrics m;
  m.Describe("req_total", "counter", "Requests.");
  m.Add("req_total", {{"route", "/v1/models"}, {"status", "200"}});
  m.Add("req_total", {{"route", "/v1/models"}, {"status", "200"}});
  m.Observe("lat_seconds", {{"route", "a\"b"}}, 0.02);
  m.Gauge("depth", {}, [] { return 3.0; });
  const std::string text = m.Render();
  EXPECT_NE(text.find("# HELP req_total Requests.\n# TYPE req_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_total{route=\"/v1/models\",status=\"200\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"a\\\"b\",le=\"0.01\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"a\\\"b\",le=\"0.025\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"a\\\"b\",le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{route=\"a\\\"b\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE depth gauge\ndepth 3\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace dv::server
