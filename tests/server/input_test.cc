// Request validation, text assembly and sampling: the pieces between the socket and the model.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "server/api_request.h"
#include "server/json_input.h"
#include "server/metrics.h"
#include "server/sampler.h"
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
  auto schema = ParseOpenAiChat(*ParseJsonObject(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}})"));
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), StatusCode::kUnimplemented);
  auto image = ParseOpenAiChat(*ParseJsonObject(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})"));
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kUnimplemented);
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

TEST(ServerSampler, GreedyPenaltiesBiasAndLogprobs) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;
  std::vector<float> copy = logits;
  EXPECT_EQ(s.Sample(copy, 2, &chosen, &top), 1);  // tie → lowest id
  // log-softmax by hand: log(e^3 / (e^1 + 2 e^3 + e^2)).
  const double z = std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(chosen.logprob, 3.0 - z, 1e-6);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].token, 1);
  EXPECT_EQ(top[1].token, 3);
  // Presence penalty after accepting token 1 flips the choice to 3; a -100 bias bans it again.
  s.Accept(1);
  copy = logits;
  SamplingParams pp = p;
  pp.presence_penalty = 0.5;
  Sampler s2(pp);
  s2.Accept(1);
  EXPECT_EQ(s2.Sample(copy, 0, nullptr, nullptr), 3);
  pp.logit_bias = {{3, -100.0f}};
  Sampler s3(pp);
  s3.Accept(1);
  copy = logits;
  EXPECT_EQ(s3.Sample(copy, 0, nullptr, nullptr), 1);
}

TEST(ServerSampler, SeededSamplingIsReproducibleAndTopKRestricts) {
  SamplingParams p;
  p.temperature = 1.0;
  p.top_k = 2;
  p.seed = 7;
  p.has_seed = true;
  std::vector<float> logits = {0.5f, 2.0f, 1.9f, -1.0f, 0.0f};
  Sampler a(p), b(p);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> l1 = logits, l2 = logits;
    const int32_t x = a.Sample(l1, 0, nullptr, nullptr);
    EXPECT_EQ(x, b.Sample(l2, 0, nullptr, nullptr));
    EXPECT_TRUE(x == 1 || x == 2) << x;
  }
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
