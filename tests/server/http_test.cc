// The server end to end over real loopback HTTP: routes, streaming framing, bad input, batching,
// queueing, cancellation, deadlines, prefix caching, hot reload, authentication.
// Model: stories260K (llama2.c's TinyStories model), whose greedy text from BOS is published.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>
#include <thread>

#include "http_client.h"
#include "test_util.h"

namespace dv::server::testing {
namespace {

using nlohmann::json;

// The first sentences of the published greedy output of stories260K from BOS
// (../shared/fixtures/models/README.md).
constexpr const char* kPublishedStart =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she "
    "saw a big, red ball.";

std::string Stories() { return dv::testing::FixturePath("models/stories260K.gguf").string(); }

ServerOptions SmallOptions(int slots = 4, int queue = 16) {
  ServerOptions o;
  o.registry.load.n_ctx = 256;
  o.registry.load.n_slots = slots;
  o.registry.scheduler.max_queue = queue;
  o.registry.scheduler.max_batch_tokens = 64;
  return o;
}

json Post(uint16_t port, const std::string& path, const json& body, int expect_status = 200) {
  ClientResponse r = Call(port, "POST", path, body.dump());
  EXPECT_EQ(r.status, expect_status) << path << " " << body.dump() << " → " << r.body << r.error;
  auto j = json::parse(r.body, nullptr, false);
  return j;
}

class ServerHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartServer({{"stories", Stories()}}, SmallOptions());
    ASSERT_NE(server_, nullptr);
    port_ = server_->port();
  }
  void ExpectStillServing() {
    ClientResponse h = Call(port_, "GET", "/health");
    EXPECT_EQ(h.status, 200);
  }
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(ServerHttp, HealthReadyModelsAndRequestIdEcho) {
  ClientResponse h = Call(port_, "GET", "/health", "", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.headers["x-request-id"], "abc-123");
  ClientResponse generated = Call(port_, "GET", "/health", "", {{"X-Request-Id", "bad id\twith spaces"}});
  EXPECT_EQ(generated.headers["x-request-id"].size(), 32u);  // unsafe ids are replaced
  EXPECT_EQ(Call(port_, "GET", "/ready").status, 200);
  json models = json::parse(Call(port_, "GET", "/v1/models").body);
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "stories");
  EXPECT_EQ(models["object"], "list");
  json tags = json::parse(Call(port_, "GET", "/api/tags").body);
  EXPECT_EQ(tags["models"][0]["name"], "stories");
  EXPECT_EQ(json::parse(Call(port_, "GET", "/api/version").body)["version"], "0.1.0");
  EXPECT_EQ(Call(port_, "GET", "/nope").status, 404);
}

TEST_F(ServerHttp, CompletionFromBosReproducesThePublishedText) {
  // An empty prompt is BOS alone, the published starting point.
  json r = Post(port_, "/v1/completions", {{"model", "stories"}, {"prompt", ""}, {"max_tokens", 40}, {"temperature", 0}});
  const std::string text = r["choices"][0]["text"];
  ASSERT_GE(text.size(), 40u);
  EXPECT_EQ(std::string(kPublishedStart).substr(0, text.size()), text);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 40);
  EXPECT_EQ(r["usage"]["prompt_tokens"], 1);
  EXPECT_EQ(r["object"], "text_completion");
}

TEST_F(ServerHttp, ChatNonStreamingAndStreamingAgree) {
  json req = {{"model", "stories"},
              {"messages", {{{"role", "user"}, {"content", "Tell me a story about Lily."}}}},
              {"max_tokens", 24},
              {"temperature", 0}};
  json full = Post(port_, "/v1/chat/completions", req);
  EXPECT_EQ(full["object"], "chat.completion");
  EXPECT_EQ(full["choices"][0]["message"]["role"], "assistant");
  const std::string content = full["choices"][0]["message"]["content"];
  EXPECT_FALSE(content.empty());
  req["stream"] = true;
  req["stream_options"] = {{"include_usage", true}};
  ClientResponse s = Call(port_, "POST", "/v1/chat/completions", req.dump());
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.headers["content-type"], "text/event-stream");
  EXPECT_EQ(s.headers["transfer-encoding"], "chunked");
  auto events = SseData(s.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string streamed;
  bool saw_finish = false, saw_usage = false;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json e = json::parse(events[i]);
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    if (e.contains("usage")) {
      saw_usage = true;
      EXPECT_EQ(e["usage"]["completion_tokens"], full["usage"]["completion_tokens"]);
      EXPECT_TRUE(e["choices"].empty());
      continue;
    }
    if (i == 0) {
      EXPECT_EQ(e["choices"][0]["delta"]["role"], "assistant");
    }
    if (e["choices"][0]["delta"].contains("content")) streamed += e["choices"][0]["delta"]["content"];
    if (!e["choices"][0]["finish_reason"].is_null()) saw_finish = true;
  }
  EXPECT_TRUE(saw_finish);
  EXPECT_TRUE(saw_usage);
  EXPECT_EQ(streamed, content);
}

TEST_F(ServerHttp, OllamaChatStreamsNdjsonAndGenerateRaw) {
  ClientResponse s = Call(port_, "POST", "/api/chat",
                          json{{"model", "stories"},
                               {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                               {"options", {{"temperature", 0}, {"num_predict", 10}}}}
                              .dump());
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.headers["content-type"], "application/x-ndjson");
  std::vector<json> lines;
  size_t pos = 0;
  while (pos < s.body.size()) {
    const size_t nl = s.body.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    lines.push_back(json::parse(s.body.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.back()["done"], true);
  EXPECT_EQ(lines.back()["eval_count"], 10);
  EXPECT_EQ(lines.back()["done_reason"], "length");
  // Raw generate: the prompt continues exactly like the OpenAI completion of the same text.
  json gen = Post(port_, "/api/generate",
                  {{"model", "stories"}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                   {"options", {{"temperature", 0}, {"num_predict", 12}, {"repeat_penalty", 1.0}}}});
  json cmp = Post(port_, "/v1/completions",
                  {{"model", "stories"}, {"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0}});
  EXPECT_EQ(gen["response"], cmp["choices"][0]["text"]);
  EXPECT_EQ(gen["done"], true);
}

TEST_F(ServerHttp, LogprobsAreAProbabilityDistribution) {
  json r = Post(port_, "/v1/chat/completions",
                {{"model", "stories"},
                 {"messages", {{{"role", "user"}, {"content", "Once"}}}},
                 {"max_tokens", 5},
                 {"temperature", 0},
                 {"logprobs", true},
                 {"top_logprobs", 3}});
  const json& lp = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(lp.size(), 5u);
  for (const auto& e : lp) {
    ASSERT_EQ(e["top_logprobs"].size(), 3u);
    // Greedy: the chosen token is the most likely one, and log-probabilities are <= 0, sorted.
    EXPECT_EQ(e["token"], e["top_logprobs"][0]["token"]);
    EXPECT_LE(e["logprob"].get<double>(), 0.0);
    EXPECT_GE(e["top_logprobs"][0]["logprob"].get<double>(), e["top_logprobs"][1]["logprob"].get<double>());
  }
}

TEST_F(ServerHttp, BadInputGets4xxAndServerKeepsServing) {
  struct Case {
    std::string path, body;
    int status;
    std::string message_part;
  } cases[] = {
      {"/v1/chat/completions", "{not json", 400, "not valid JSON"},
      {"/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":"x"}],"max_tokens":-1})", 400,
       "max_tokens must be an integer"},
      {"/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":"x"}],"n":99})", 400,
       "n must be"},
      {"/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":50})",
       400, "top_logprobs"},
      {"/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":123}]})", 400, "content"},
      {"/v1/chat/completions", R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})", 404,
       "model \"gpt-9\" does not exist"},
      {"/v1/chat/completions", std::string("{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"),
       400, "UTF-8"},
      {"/v1/chat/completions", std::string(10000, '[') + std::string(10000, ']'), 400, "nested deeper"},
      {"/v1/chat/completions",
       R"({"model":"stories","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{"not":{}}}}})",
       400, "unsupported JSON schema keyword \"not\""},
      {"/v1/completions", R"({"model":"stories","prompt":")" + std::string(3000, 'a') + R"(","max_tokens":5})", 400,
       "maximum context length is 256"},
      {"/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":"x"}],"max_tokens":100000})",
       400, "maximum context length"},
      {"/api/chat", R"({"model":"stories","options":{"temperature":"hot"}})", 400, "options.temperature"},
  };
  for (const auto& c : cases) {
    ClientResponse r = Call(port_, "POST", c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 200) << " → " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    const std::string message = c.path.starts_with("/v1/") ? j["error"].value("message", "") : j.value("error", "");
    EXPECT_NE(message.find(c.message_part), std::string::npos) << c.body.substr(0, 200) << " → " << r.body;
    if (c.path.starts_with("/v1/")) {
      EXPECT_TRUE(j["error"].contains("message") && j["error"].contains("type") && j["error"].contains("param") &&
                  j["error"].contains("code"))
          << r.body;
    } else {
      EXPECT_TRUE(j["error"].is_string()) << r.body;
    }
  }
  ExpectStillServing();
}

TEST_F(ServerHttp, OversizedHeaderAndBodyAreRejected) {
  // Beast's own client refuses to build such a header, so it is written by hand.
  const std::string big = "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  const std::string big_answer = RawExchange(port_, big, std::chrono::seconds(10));
  EXPECT_EQ(big_answer.rfind("HTTP/1.1 431", 0), 0u) << big_answer.substr(0, 200);
  // A 1 GB body is refused from its Content-Length, before it is sent.
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{";
  const std::string answer = RawExchange(port_, head, std::chrono::seconds(10));
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer.substr(0, 200);
  ExpectStillServing();
}

TEST_F(ServerHttp, UnknownModelAndWrongMethod) {
  EXPECT_EQ(Call(port_, "GET", "/v1/chat/completions").status, 400);
  ClientResponse r = Call(port_, "POST", "/api/show", R"({"model":"stories"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json show = json::parse(r.body);
  EXPECT_EQ(show["details"]["family"], "llama");
  EXPECT_EQ(show["model_info"]["llama.block_count"], 5);
  json ps = json::parse(Call(port_, "GET", "/api/ps").body);
  ASSERT_EQ(ps["models"].size(), 1u);  // loaded by /api/show
  EXPECT_EQ(Call(port_, "POST", "/api/show", R"({"model":"zzz"})").status, 404);
}

// N concurrent greedy streams produce exactly the tokens of N sequential runs, in fewer forward
// passes than tokens (they shared batches).
TEST(ServerBatching, ConcurrentGreedyEqualsSequentialWithSharedForwardPasses) {
  const std::vector<std::string> prompts = {"Once upon a time", "Lily and Ben", "The sun was", "One day, a cat",
                                            "Tom had a red"};
  auto body = [](const std::string& p) {
    return json{{"model", "stories"}, {"prompt", p}, {"max_tokens", 48}, {"temperature", 0}}.dump();
  };
  std::vector<std::string> sequential;
  {
    auto server = StartServer({{"stories", Stories()}}, SmallOptions(1));
    ASSERT_NE(server, nullptr);
    for (const auto& p : prompts) {
      ClientResponse r = Call(server->port(), "POST", "/v1/completions", body(p));
      ASSERT_EQ(r.status, 200) << r.body;
      sequential.push_back(json::parse(r.body)["choices"][0]["text"]);
    }
  }
  auto server = StartServer({{"stories", Stories()}}, SmallOptions(8));
  ASSERT_NE(server, nullptr);
  auto sched = server->registry().Acquire("stories");
  ASSERT_TRUE(sched.ok());
  const uint64_t passes_before = (*sched)->stats().forward_passes;
  const uint64_t tokens_before = (*sched)->stats().generated_tokens;
  std::vector<std::future<ClientResponse>> futures;
  for (const auto& p : prompts) {
    futures.push_back(std::async(std::launch::async, [&, p] { return Call(server->port(), "POST", "/v1/completions", body(p)); }));
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    ClientResponse r = futures[i].get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["choices"][0]["text"], sequential[i]) << prompts[i];
  }
  const uint64_t passes = (*sched)->stats().forward_passes - passes_before;
  const uint64_t tokens = (*sched)->stats().generated_tokens - tokens_before;
  EXPECT_EQ(tokens, prompts.size() * 48);
  EXPECT_LT(passes, tokens) << "streams did not share forward passes";
}

TEST(ServerScheduling, FullQueueAnswers429WithRetryAfter) {
  auto server = StartServer({{"stories", Stories()}}, SmallOptions(/*slots=*/1, /*queue=*/1));
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->registry().Acquire("stories").ok());  // loaded before the burst
  const std::string long_body = json{{"model", "stories"}, {"prompt", "Once"}, {"max_tokens", 200}, {"temperature", 0}}.dump();
  std::vector<std::future<ClientResponse>> futures;
  for (int i = 0; i < 6; ++i) {
    futures.push_back(std::async(std::launch::async, [&] { return Call(server->port(), "POST", "/v1/completions", long_body); }));
  }
  int ok = 0, limited = 0;
  for (auto& f : futures) {
    ClientResponse r = f.get();
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.headers["retry-after"], "1");
      EXPECT_EQ(json::parse(r.body)["error"]["type"], "rate_limit_error");
    }
  }
  EXPECT_GE(ok, 1);       // the running one (and the queued one, when it arrived after admission)
  EXPECT_GE(limited, 1);  // the rest found the queue full
  EXPECT_EQ(ok + limited, 6);
}

TEST(ServerScheduling, ClientDisconnectFreesTheSequence) {
  // 16 choices x 250 tokens: far more work than the moment it takes to notice the client left.
  auto server = StartServer({{"stories", Stories()}}, SmallOptions(16));
  ASSERT_NE(server, nullptr);
  auto sched = server->registry().Acquire("stories");
  ASSERT_TRUE(sched.ok());
  const std::string body = json{{"model", "stories"}, {"prompt", "Once"}, {"max_tokens", 250},
                                {"temperature", 0}, {"n", 16}, {"stream", true}}.dump();
  const std::string got = StartAndAbandon(server->port(), "/v1/completions", body, 1);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  // The response headers can reach the client before the job is admitted, and the server may
  // notice the disconnect before the first step: wait (up to 2 s) for the job to show up in the
  // scheduler or to have produced tokens, then for it to be gone.
  auto seen = [&] {
    const SchedulerStats st = (*sched)->stats();
    return st.active > 0 || st.queued > 0 || st.generated_tokens > 0;
  };
  const auto admitted_by = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  const auto deadline = admitted_by + std::chrono::seconds(5);
  while (!seen() && std::chrono::steady_clock::now() < admitted_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto busy = [&] {
    const SchedulerStats st = (*sched)->stats();
    return st.active > 0 || st.queued > 0;
  };
  while (busy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(busy()) << "active " << (*sched)->stats().active << ", queued " << (*sched)->stats().queued;
  EXPECT_LT((*sched)->stats().generated_tokens, 2000u) << "generation went on for a client that left";
}

TEST(ServerScheduling, DeadlineExceededIs504) {
  ServerOptions o = SmallOptions(1);
  auto server = StartServer({{"stories", Stories()}}, o);
  ASSERT_NE(server, nullptr);
  ClientResponse r = Call(server->port(), "POST", "/v1/completions",
                          json{{"model", "stories"}, {"prompt", "Once"}, {"max_tokens", 250}, {"timeout", 0.001}}.dump());
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "timeout_error");
}

TEST(ServerScheduling, SharedSystemPromptIsServedFromThePrefixCache) {
  auto server = StartServer({{"stories", Stories()}}, SmallOptions(2));
  ASSERT_NE(server, nullptr);
  const std::string system =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog.";
  auto ask = [&](const std::string& q) {
    return Post(server->port(), "/v1/chat/completions",
                {{"model", "stories"},
                 {"messages", {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", q}}}},
                 {"max_tokens", 4},
                 {"temperature", 0}});
  };
  json first = ask("What did Lily see?");
  EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  json second = ask("Where did the dog go?");
  const int prompt = second["usage"]["prompt_tokens"];
  const int cached = second["usage"]["prompt_tokens_details"]["cached_tokens"];
  EXPECT_GT(cached, 20) << "the shared system prompt was recomputed";
  EXPECT_LT(cached, prompt);
}

TEST(ServerModels, HotReloadUnderLoadFailsNoRequest) {
  auto server = StartServer({{"stories", Stories()}}, SmallOptions(4));
  ASSERT_NE(server, nullptr);
  const std::string body = json{{"model", "stories"}, {"prompt", "Once"}, {"max_tokens", 40}, {"temperature", 0}}.dump();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, successes{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        ClientResponse r = Call(server->port(), "POST", "/v1/completions", body);
        (r.status == 200 ? successes : failures)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 3; ++i) {
    Status s = server->registry().Reload("stories");
    EXPECT_TRUE(s.ok()) << s.Describe();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(successes.load(), 3);
  EXPECT_EQ(server->registry().loads(), 4u);
}

TEST(ServerSecurity, ApiKeyIsRequiredExceptForHealth) {
  ServerOptions o = SmallOptions();
  o.api_key = "s3cret";
  auto server = StartServer({{"stories", Stories()}}, o);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Call(server->port(), "GET", "/health").status, 200);
  ClientResponse no = Call(server->port(), "GET", "/v1/models");
  EXPECT_EQ(no.status, 401);
  EXPECT_EQ(json::parse(no.body)["error"]["type"], "authentication_error");
  EXPECT_EQ(Call(server->port(), "GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(Call(server->port(), "GET", "/v1/models", "", {{"Authorization", "Bearer s3cret"}}).status, 200);
}

TEST_F(ServerHttp, MetricsExposeRequestsLatencyTokensAndQueue) {
  Post(port_, "/v1/completions", {{"model", "stories"}, {"prompt", "Once"}, {"max_tokens", 8}, {"temperature", 0}});
  // The access record is written once the last byte left the server; poll briefly for it.
  ClientResponse m;
  for (int i = 0; i < 100; ++i) {
    m = Call(port_, "GET", "/metrics");
    if (m.body.find("route=\"/v1/completions\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  for (const char* needle : {"deepvault_http_requests_total{route=\"/v1/completions\",status=\"200\"} 1",
                             "deepvault_completion_tokens_total{model=\"stories\"} 8",
                             "deepvault_time_to_first_token_seconds_count{model=\"stories\"} 1",
                             "deepvault_time_per_output_token_seconds_bucket{model=\"stories\",le=\"+Inf\"} 1",
                             "deepvault_queue_depth{model=\"stories\"} 0", "deepvault_active_sequences{model=\"stories\"}",
                             "deepvault_kv_cache_total_positions{model=\"stories\"} 1024", "deepvault_model_loads_total 1",
                             "# TYPE deepvault_http_request_duration_seconds histogram"}) {
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle << "\n" << m.body;
  }
}

TEST(ServerSecurity, ServesTls13WithAConfiguredCertificate) {
  dv::testing::TempDir dir;
  const std::string cert = (dir.path() / "cert.pem").string(), key = (dir.path() / "key.pem").string();
  auto gen = dv::testing::RunCommand("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                                     key + " -out " + cert + " 2>&1");
  if (gen.exit_code != 0) GTEST_SKIP() << "openssl could not make a test certificate: " << gen.out;
  ServerOptions o = SmallOptions();
  o.http.tls.certificate_file = cert;
  o.http.tls.private_key_file = key;
  auto server = StartServer({{"stories", Stories()}}, o);
  ASSERT_NE(server, nullptr);
  const std::string url = "https://127.0.0.1:" + std::to_string(server->port());
  auto ok = dv::testing::RunCommand("curl -sS --cacert " + cert + " -w ' %{http_code}' " + url + "/health");
  EXPECT_EQ(ok.out, R"({"status":"ok"} 200)") << ok.err;
  auto v12 = dv::testing::RunCommand("curl -sS --cacert " + cert + " --tls-max 1.2 " + url + "/health");
  EXPECT_NE(v12.exit_code, 0) << "TLS 1.2 was accepted";
  // Plain HTTP on the TLS port is refused, and the server keeps serving TLS clients.
  EXPECT_NE(Call(server->port(), "GET", "/health", "", {}, std::chrono::seconds(5)).status, 200);
  EXPECT_EQ(dv::testing::RunCommand("curl -sS --cacert " + cert + " " + url + "/health").exit_code, 0);
}

TEST(ServerLifecycle, StopEndsStreamsAndReturns) {
  auto server = StartServer({{"stories", Stories()}}, SmallOptions(2));
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  auto f = std::async(std::launch::async, [&] {
    return Call(port, "POST", "/v1/completions",
                json{{"model", "stories"}, {"prompt", "Once"}, {"max_tokens", 250}, {"stream", true}}.dump());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  f.get();  // the client sees the end (complete or cut), never hangs
  EXPECT_NE(Call(port, "GET", "/health", "", {}, std::chrono::seconds(2)).status, 200);
}

}  // namespace
}  // namespace dv::server::testing
