// Constrained decoding and tool calls end to end over loopback HTTP with stories260K (a
// TinyStories model that knows nothing of JSON; its vocabulary has single-byte tokens, so the
// grammar can always continue). Outputs are checked with nlohmann::json's parser.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "http_client.h"
#include "test_util.h"

namespace dv::server::testing {
namespace {

using nlohmann::json;

std::string Stories() { return dv::testing::FixturePath("models/stories260K.gguf").string(); }

class ServerConstrained : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.registry.load.n_ctx = 512;
    o.registry.load.n_slots = 4;
    o.registry.scheduler.max_queue = 32;
    server_ = StartServer({{"stories", Stories()}}, o);
    ASSERT_NE(server_, nullptr);
    port_ = server_->port();
  }
  json Post(const std::string& path, const json& body, int expect_status = 200) {
    ClientResponse r = Call(port_, "POST", path, body.dump());
    EXPECT_EQ(r.status, expect_status) << body.dump() << " → " << r.body << r.error;
    return json::parse(r.body, nullptr, false);
  }
  json Chat(json extra) {
    json req = {{"model", "stories"},
                {"messages", {{{"role", "user"}, {"content", "Tell me about Lily and her dog."}}}},
                {"max_tokens", 400}};
    req.update(extra);
    return req;
  }
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(ServerConstrained, ServerGrammarJsonObjectOutputParses) {
  // stories260K writes endless dialogue inside strings: the budget decides where the document is
  // closed, and it must still parse (max_tokens from 40 up, several seeds, streaming too).
  for (int seed = 0; seed < 8; ++seed) {
    json req = Chat({{"response_format", {{"type", "json_object"}}}, {"seed", seed}, {"temperature", 0.7},
                     {"max_tokens", 40 + 45 * seed}});
    json r = Post("/v1/chat/completions", req);
    const auto& choice = r["choices"][0];
    const std::string content = choice["message"]["content"];
    EXPECT_EQ(choice["finish_reason"], "stop") << content;
    json parsed = json::parse(content, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << "seed " << seed << ": " << content;
    EXPECT_LE(r["usage"]["completion_tokens"].get<int>(), 40 + 45 * seed);
  }
}

TEST_F(ServerConstrained, ServerGrammarSchemaEnumAndRequiredHoldAcross20Seeds) {
  const json schema = {{"type", "object"},
                       {"properties",
                        {{"mood", {{"enum", {"happy", "sad", "sleepy"}}}},
                         {"age", {{"type", "integer"}}},
                         {"name", {{"type", "string"}, {"maxLength", 8}}}}},
                       {"required", {"mood", "age"}},
                       {"additionalProperties", false}};
  std::set<std::string> moods;
  for (int seed = 0; seed < 20; ++seed) {
    json r = Post("/v1/chat/completions",
                  Chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "pet"}, {"schema", schema}}}}},
                        {"seed", seed},
                        {"temperature", 1.0}}));
    const auto& choice = r["choices"][0];
    ASSERT_EQ(choice["finish_reason"], "stop") << r.dump();
    json v = json::parse(choice["message"]["content"].get<std::string>(), nullptr, false);
    ASSERT_TRUE(v.is_object()) << choice["message"]["content"];
    ASSERT_TRUE(v.contains("mood") && v.contains("age")) << v.dump();
    EXPECT_TRUE(v["age"].is_number_integer()) << v.dump();
    moods.insert(v["mood"].get<std::string>());
    for (const auto& [key, value] : v.items()) {
      EXPECT_TRUE(key == "mood" || key == "age" || key == "name") << key;
      if (key == "name") {
        EXPECT_LE(value.get<std::string>().size(), 8u * 4);  // at most 8 code points
      }
    }
  }
  for (const auto& m : moods) EXPECT_TRUE(m == "happy" || m == "sad" || m == "sleepy") << m;
  // Ollama's format takes the schema itself.
  json o = Post("/api/chat", {{"model", "stories"},
                              {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                              {"stream", false},
                              {"format", schema},
                              {"options", {{"seed", 3}, {"num_predict", 400}}}});
  json v = json::parse(o["message"]["content"].get<std::string>(), nullptr, false);
  ASSERT_TRUE(v.is_object()) << o.dump();
  EXPECT_TRUE(v.contains("mood") && v.contains("age"));
}

TEST_F(ServerConstrained, ServerGrammarBadSchemasAre400NamingTheProblem) {
  json never = Post("/v1/chat/completions",
                    Chat({{"response_format",
                           {{"type", "json_schema"},
                            {"json_schema", {{"name", "x"}, {"schema", {{"type", "array"}, {"minItems", 2}, {"maxItems", 1}}}}}}}}),
                    400);
  EXPECT_NE(never["error"]["message"].get<std::string>().find("cannot be satisfied"), std::string::npos);
  EXPECT_EQ(never["error"]["param"], "response_format.json_schema.schema");
  json pattern = Post("/v1/chat/completions",
                      Chat({{"response_format",
                             {{"type", "json_schema"},
                              {"json_schema", {{"name", "x"}, {"schema", {{"type", "string"}, {"pattern", "^a"}}}}}}}}),
                      400);
  EXPECT_NE(pattern["error"]["message"].get<std::string>().find("\"pattern\""), std::string::npos);
  json bad_temp = Post("/v1/chat/completions", Chat({{"temperature", "hot"}}), 400);
  EXPECT_EQ(bad_temp["error"]["param"], "temperature");
  EXPECT_EQ(Call(port_, "GET", "/health").status, 200);
}

json WeatherTool() {
  return {{"type", "function"},
          {"function",
           {{"name", "get_weather"},
            {"description", "Weather for a city"},
            {"parameters",
             {{"type", "object"},
              {"properties", {{"city", {{"type", "string"}, {"maxLength", 12}}}}},
              {"required", {"city"}},
              {"additionalProperties", false}}}}}};
}

TEST_F(ServerConstrained, ServerToolsNamedChoiceYieldsToolCalls) {
  const json choice = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
  json r = Post("/v1/chat/completions",
                Chat({{"tools", {WeatherTool()}}, {"tool_choice", choice}, {"seed", 1}, {"temperature", 0.8}}));
  const auto& c = r["choices"][0];
  ASSERT_EQ(c["finish_reason"], "tool_calls") << r.dump();
  ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
  const auto& call = c["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_TRUE(call["id"].get<std::string>().starts_with("call_"));
  json args = json::parse(call["function"]["arguments"].get<std::string>());
  ASSERT_TRUE(args.contains("city"));
  EXPECT_EQ(args.size(), 1u);
  EXPECT_TRUE(c["message"]["content"].is_null());

  // Streaming: the call arrives as delta.tool_calls, then finish_reason tool_calls.
  json req = Chat({{"tools", {WeatherTool()}}, {"tool_choice", "required"}, {"seed", 1}, {"temperature", 0.8},
                   {"stream", true}});
  ClientResponse s = Call(port_, "POST", "/v1/chat/completions", req.dump());
  ASSERT_EQ(s.status, 200);
  auto events = SseData(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  bool saw_call = false;
  std::string finish;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json e = json::parse(events[i]);
    const auto& delta = e["choices"][0]["delta"];
    if (delta.contains("tool_calls")) {
      saw_call = true;
      EXPECT_EQ(delta["tool_calls"][0]["index"], 0);
      EXPECT_EQ(delta["tool_calls"][0]["function"]["name"], "get_weather");
      EXPECT_TRUE(json::parse(delta["tool_calls"][0]["function"]["arguments"].get<std::string>()).is_object());
    }
    if (!e["choices"][0]["finish_reason"].is_null()) finish = e["choices"][0]["finish_reason"];
  }
  EXPECT_TRUE(saw_call);
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(ServerConstrained, ServerToolsHistoryWithToolResultsIsAccepted) {
  json messages = {
      {{"role", "user"}, {"content", "Weather in Paris?"}},
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls",
        {{{"id", "call_1"}, {"type", "function"}, {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Paris\"}"}}}}}}},
      {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "{\"temp_c\": 21}"}}};
  json r = Post("/v1/chat/completions", {{"model", "stories"},
                                         {"messages", messages},
                                         {"tools", {WeatherTool()}},
                                         {"max_tokens", 8},
                                         {"temperature", 0}});
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  json bad = Post("/v1/chat/completions",
                  {{"model", "stories"}, {"messages", messages}, {"tools", {{{"type", "function"}, {"function", {{"name", ""}}}}}}},
                  400);
  EXPECT_EQ(bad["error"]["param"], "tools[0].function.name");
}

// A model whose chat template is DeepSeek-V3's (published tokenizer_config.json): tiny-qwen2's
// weights and byte-level vocabulary in a temporary HF folder, so the DeepSeek tool-call markers
// are written byte by byte.
class ServerConstrainedDeepSeek : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    const fs::path src = dv::testing::FixturePath("hf-models/tiny-qwen2");
    for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"}) {
      fs::copy_file(src / f, dir_.path() / f);
    }
    json cfg = json::parse(dv::testing::ReadFile(src / "tokenizer_config.json"));
    cfg["chat_template"] =
        json::parse(dv::testing::ReadFile(dv::testing::FixturePath("chat/deepseek-v3.tokenizer_config.json")))["chat_template"];
    std::ofstream(dir_.path() / "tokenizer_config.json") << cfg.dump();
    ServerOptions o;
    o.registry.load.n_ctx = 512;
    o.registry.load.n_slots = 4;
    server_ = StartServer({{"ds", dir_.path().string()}}, o);
    ASSERT_NE(server_, nullptr);
    port_ = server_->port();
  }
  json Post(const json& body, int expect_status = 200) {
    ClientResponse r = Call(port_, "POST", "/v1/chat/completions", body.dump());
    EXPECT_EQ(r.status, expect_status) << body.dump() << " → " << r.body << r.error;
    return json::parse(r.body, nullptr, false);
  }
  dv::testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

json Tool(const std::string& name, json parameters) {
  return {{"type", "function"}, {"function", {{"name", name}, {"parameters", std::move(parameters)}}}};
}

// get_weather(city: string ≤ 12), get_time(zone: "UTC" | "Asia/Shanghai"), add(a, b: integer).
json ThreeTools() {
  return {WeatherTool(),
          Tool("get_time", {{"type", "object"},
                            {"properties", {{"zone", {{"enum", {"UTC", "Asia/Shanghai"}}}}}},
                            {"required", {"zone"}},
                            {"additionalProperties", false}}),
          Tool("add", {{"type", "object"},
                       {"properties", {{"a", {{"type", "integer"}}}, {"b", {{"type", "integer"}}}}},
                       {"required", {"a", "b"}},
                       {"additionalProperties", false}})};
}

// The arguments satisfy the schema of the tool they name (checked by hand, parsed by nlohmann).
void ExpectValidCall(const json& call) {
  const std::string name = call["function"]["name"];
  json args = json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
  ASSERT_TRUE(args.is_object()) << call.dump();
  if (name == "get_weather") {
    ASSERT_EQ(args.size(), 1u) << args.dump();
    ASSERT_TRUE(args["city"].is_string()) << args.dump();
    EXPECT_LE(args["city"].get<std::string>().size(), 12u * 4);
  } else if (name == "get_time") {
    ASSERT_EQ(args.size(), 1u) << args.dump();
    EXPECT_TRUE(args["zone"] == "UTC" || args["zone"] == "Asia/Shanghai") << args.dump();
  } else {
    ASSERT_EQ(name, "add");
    ASSERT_EQ(args.size(), 2u) << args.dump();
    EXPECT_TRUE(args["a"].is_number_integer() && args["b"].is_number_integer()) << args.dump();
  }
}

TEST_F(ServerConstrainedDeepSeek, ServerToolsRequiredAmongSeveralToolsInDeepSeekFormat) {
  std::set<std::string> names;
  for (int seed = 0; seed < 16; ++seed) {
    json r = Post({{"model", "ds"},
                   {"messages", {{{"role", "user"}, {"content", "What time is it in Hangzhou?"}}}},
                   {"tools", ThreeTools()},
                   {"tool_choice", "required"},
                   {"seed", seed},
                   {"temperature", 1.0},
                   {"max_tokens", 300}});
    const auto& c = r["choices"][0];
    ASSERT_EQ(c["finish_reason"], "tool_calls") << r.dump();
    ASSERT_EQ(c["message"]["tool_calls"].size(), 1u) << r.dump();
    EXPECT_TRUE(c["message"]["content"].is_null()) << r.dump();
    ExpectValidCall(c["message"]["tool_calls"][0]);
    names.insert(c["message"]["tool_calls"][0]["function"]["name"].get<std::string>());
  }
  // The model chooses the tool (tiny-qwen2 prefers get_time); the grammar only shapes the call.
  EXPECT_TRUE(names.count("get_time")) << names.size();
  // A named choice among the same tools, streamed.
  json req = {{"model", "ds"},
              {"messages", {{{"role", "user"}, {"content", "1 + 2?"}}}},
              {"tools", ThreeTools()},
              {"tool_choice", {{"type", "function"}, {"function", {{"name", "add"}}}}},
              {"seed", 4},
              {"stream", true},
              {"max_tokens", 300}};
  ClientResponse s = Call(port_, "POST", "/v1/chat/completions", req.dump());
  ASSERT_EQ(s.status, 200) << s.body;
  bool saw_call = false;
  for (const std::string& e : SseData(s.body)) {
    if (e == "[DONE]") continue;
    json chunk = json::parse(e);
    const auto& delta = chunk["choices"][0]["delta"];
    if (!delta.contains("tool_calls")) continue;
    saw_call = true;
    EXPECT_EQ(delta["tool_calls"][0]["function"]["name"], "add");
    ExpectValidCall(delta["tool_calls"][0]);
  }
  EXPECT_TRUE(saw_call) << s.body;
}

TEST_F(ServerConstrainedDeepSeek, ServerToolsRequiredOverTheAlternativeLimitIs400) {
  json tools = json::array();
  for (int i = 0; i < 65; ++i) tools.push_back(Tool("f" + std::to_string(i), {{"type", "object"}}));
  json r = Post({{"model", "ds"},
                 {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                 {"tools", tools},
                 {"tool_choice", "required"}},
                400);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("at most 64 tools"), std::string::npos) << r.dump();
  // 64 tools are fine.
  tools.erase(tools.size() - 1);
  json ok = Post({{"model", "ds"},
                  {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                  {"tools", tools},
                  {"tool_choice", "required"},
                  {"seed", 1},
                  {"max_tokens", 200}});
  ASSERT_EQ(ok["choices"][0]["finish_reason"], "tool_calls") << ok.dump();
  EXPECT_EQ(ok["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>().front(), '{');
}

}  // namespace
}  // namespace dv::server::testing
