// Model management over real HTTP: weighted versions (canary) sticky per user, the circuit breaker
// with a fallback model against a model file that really fails to load, and per-model default
// sampling. Model: stories260K (tests/fixtures/models).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "http_client.h"
#include "server/router.h"
#include "test_util.h"

namespace dv::server::testing {
namespace {

using nlohmann::json;

std::string Stories() { return dv::testing::FixturePath("models/stories260K.gguf").string(); }

ServerOptions SmallOptions() {
  ServerOptions o;
  o.registry.load.n_ctx = 128;
  o.registry.load.n_slots = 4;
  o.registry.scheduler.max_queue = 256;
  o.registry.scheduler.max_batch_tokens = 64;
  return o;
}

ModelEntryOptions Canary(const std::string& stories) {
  ModelEntryOptions e;
  e.alias = "story";
  e.versions = {{"v1.1", stories, 90}, {"v1.2", stories, 10}};
  return e;
}

json Completion(uint16_t port, const json& body, ClientResponse* raw = nullptr,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  ClientResponse r = Call(port, "POST", "/v1/completions", body.dump(), headers);
  if (raw) *raw = r;
  return json::parse(r.body, nullptr, false);
}

TEST(ServerRouting, StickyHashIsUniformAndDeterministic) {
  // 100,000 keys into 10 buckets: each within 5 standard deviations of 10,000.
  std::vector<int> buckets(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = StickyUnit("alias", "user-" + std::to_string(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    buckets[static_cast<size_t>(u * 10)]++;
  }
  const double sigma = std::sqrt(100000 * 0.1 * 0.9);
  for (int b : buckets) EXPECT_NEAR(b, 10000, 5 * sigma);
  EXPECT_EQ(StickyUnit("a", "k"), StickyUnit("a", "k"));
  EXPECT_NE(StickyUnit("a", "k"), StickyUnit("b", "k"));  // the alias salts the hash
}

TEST(ServerRouting, CanarySplitsDistinctUsersByWeightAndKeepsEachUserOnOneVersion) {
  ServerOptions o = SmallOptions();
  o.model_entries.push_back(Canary(Stories()));
  auto server = StartServer({}, o);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();

  // 1,000 distinct users, 8 client threads.
  constexpr int kUsers = 1000;
  std::map<std::string, int> served;
  std::map<int, std::string> version_of;
  std::mutex mu;
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = next++; i < kUsers; i = next++) {
        ClientResponse raw;
        json r = Completion(port, {{"model", "story"}, {"prompt", "Once"}, {"max_tokens", 1}, {"user", "u" + std::to_string(i)}},
                            &raw);
        if (raw.status != 200 || !r.contains("model")) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        served[r["model"]]++;
        version_of[i] = r["model"];
        EXPECT_EQ(raw.headers["x-deepvault-model"], r["model"]);
      }
    });
  }
  for (auto& c : clients) c.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(served.size(), 2u);
  // Binomial(1000, 0.1): mean 100, sigma 9.49; accept 4 sigma.
  const double sigma = std::sqrt(kUsers * 0.1 * 0.9);
  EXPECT_NEAR(served["story:v1.2"], 100, 4 * sigma);
  EXPECT_EQ(served["story:v1.1"] + served["story:v1.2"], kUsers);

  // The same user lands on the same version every time, through the body's `user` or the header.
  for (int i : {0, 1, 2, 3, 500, 999}) {
    for (int k = 0; k < 5; ++k) {
      json r = Completion(port, {{"model", "story"}, {"prompt", "Once"}, {"max_tokens", 1}, {"user", "u" + std::to_string(i)}});
      EXPECT_EQ(r["model"], version_of[i]) << "user " << i;
    }
    json h = Completion(port, {{"model", "story"}, {"prompt", "Once"}, {"max_tokens", 1}}, nullptr,
                        {{"X-User-Id", "u" + std::to_string(i)}});
    EXPECT_EQ(h["model"], version_of[i]) << "user " << i << " by header";
  }
  // The alias is listed next to its versions.
  json listed = json::parse(Call(port, "GET", "/v1/models").body);
  std::set<std::string> ids;
  for (const auto& m : listed["data"]) ids.insert(m["id"]);
  EXPECT_EQ(ids, (std::set<std::string>{"story", "story:v1.1", "story:v1.2"}));
  // A version can be asked for directly.
  EXPECT_EQ(Completion(port, {{"model", "story:v1.2"}, {"prompt", "Once"}, {"max_tokens", 1}})["model"], "story:v1.2");

  // Metrics per version.
  Metrics& m = server->metrics();
  EXPECT_EQ(m.CounterValue("deepvault_routed_requests_total",
                           {{"requested", "story"}, {"model", "story:v1.2"}, {"reason", "weighted"}}) +
                m.CounterValue("deepvault_routed_requests_total",
                               {{"requested", "story"}, {"model", "story:v1.1"}, {"reason", "weighted"}}),
            kUsers + 6 * 6);
  EXPECT_GE(m.CounterValue("deepvault_completion_tokens_total", {{"model", "story:v1.2"}}), served["story:v1.2"]);
  EXPECT_GE(m.CounterValue("deepvault_completion_tokens_total", {{"model", "story:v1.1"}}), served["story:v1.1"]);
}

// Copies stories260K to `dst` (a file the test can later corrupt and repair).
void CopyStories(const std::filesystem::path& dst) {
  std::filesystem::copy_file(Stories(), dst, std::filesystem::copy_options::overwrite_existing);
}

void Corrupt(const std::filesystem::path& file) {
  dv::testing::WriteFile(file, "GGUF but not really: truncated after registration");
}

TEST(ServerRouting, FailingModelOpensTheCircuitFallbackAnswersAndAProbeClosesIt) {
  dv::testing::TempDir dir;
  const auto flaky = dir.path() / "flaky.gguf";
  CopyStories(flaky);
  ServerOptions o = SmallOptions();
  ModelEntryOptions e;
  e.alias = "flaky";
  e.file = flaky;
  e.fallback = "stories";
  o.model_entries.push_back(e);
  o.breaker.window = std::chrono::seconds(60);
  o.breaker.error_rate = 0.5;
  o.breaker.min_requests = 3;
  o.breaker.cooldown = std::chrono::milliseconds(300);
  auto server = StartServer({{"stories", Stories()}}, o);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  Corrupt(flaky);  // registered, now it cannot load
  ModelRouter& router = server->router();
  const json req = {{"model", "flaky"}, {"prompt", "Once"}, {"max_tokens", 3}, {"temperature", 0}};

  // Closed: the failures reach the client as 503 until the error rate opens the circuit.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(router.State("flaky"), CircuitState::kClosed);
    ClientResponse raw;
    json r = Completion(port, req, &raw);
    EXPECT_EQ(raw.status, 503) << raw.body;
    EXPECT_NE(r["error"]["message"].get<std::string>().find("could not be loaded"), std::string::npos) << raw.body;
  }
  EXPECT_EQ(router.State("flaky"), CircuitState::kOpen);

  // Open: the fallback answers, for plain and streaming requests.
  ClientResponse raw;
  json r = Completion(port, req, &raw);
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(r["model"], "stories");
  EXPECT_EQ(raw.headers["x-deepvault-fallback-from"], "flaky");
  EXPECT_FALSE(r["choices"][0]["text"].get<std::string>().empty());
  json stream_req = req;
  stream_req["stream"] = true;
  ClientResponse s = Call(port, "POST", "/v1/completions", stream_req.dump());
  ASSERT_EQ(s.status, 200);
  auto events = SseData(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events.front())["model"], "stories");

  // After the cool-down one probe goes to the model; it still fails, so the circuit opens again
  // and that same request is answered by the fallback (streamed too), as is the next one.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  r = Completion(port, req, &raw);
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(r["model"], "stories");
  EXPECT_EQ(raw.headers["x-deepvault-model"], "stories");
  EXPECT_EQ(raw.headers["x-deepvault-fallback-from"], "flaky");
  EXPECT_FALSE(r["choices"][0]["text"].get<std::string>().empty());
  EXPECT_EQ(router.State("flaky"), CircuitState::kOpen);
  EXPECT_EQ(Completion(port, req, &raw)["model"], "stories");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  s = Call(port, "POST", "/v1/completions", stream_req.dump());
  ASSERT_EQ(s.status, 200);
  events = SseData(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events.front())["model"], "stories");
  EXPECT_EQ(router.State("flaky"), CircuitState::kOpen);

  // Repaired: the next probe succeeds and closes the circuit; "flaky" answers itself again.
  CopyStories(flaky);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  r = Completion(port, req, &raw);
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(r["model"], "flaky");
  EXPECT_EQ(router.State("flaky"), CircuitState::kClosed);
  EXPECT_EQ(Completion(port, req)["model"], "flaky");

  Metrics& m = server->metrics();
  EXPECT_EQ(m.CounterValue("deepvault_circuit_transitions_total", {{"model", "flaky"}, {"state", "open"}}), 3);
  EXPECT_EQ(m.CounterValue("deepvault_circuit_transitions_total", {{"model", "flaky"}, {"state", "half_open"}}), 3);
  EXPECT_EQ(m.CounterValue("deepvault_circuit_transitions_total", {{"model", "flaky"}, {"state", "closed"}}), 1);
  // Two while open, two failed probes answered again, one more while open.
  EXPECT_EQ(m.CounterValue("deepvault_routed_requests_total",
                           {{"requested", "flaky"}, {"model", "stories"}, {"reason", "fallback"}}),
            5);
  const std::string text = Call(port, "GET", "/metrics").body;
  EXPECT_NE(text.find("deepvault_circuit_state{model=\"flaky\"} 0"), std::string::npos);
}

TEST(ServerRouting, WithoutFallbackAnOpenCircuitFailsFastWithRetryTime) {
  dv::testing::TempDir dir;
  const auto broken = dir.path() / "broken.gguf";
  CopyStories(broken);
  ServerOptions o = SmallOptions();
  o.breaker.min_requests = 2;
  o.breaker.cooldown = std::chrono::seconds(60);
  auto server = StartServer({{"broken", broken.string()}}, o);
  ASSERT_NE(server, nullptr);
  Corrupt(broken);
  ClientResponse raw;
  for (int i = 0; i < 2; ++i) Completion(server->port(), {{"model", "broken"}, {"prompt", "x"}}, &raw);
  json r = Completion(server->port(), {{"model", "broken"}, {"prompt", "x"}}, &raw);
  EXPECT_EQ(raw.status, 503);
  const std::string msg = r["error"]["message"];
  EXPECT_NE(msg.find("circuit open"), std::string::npos) << msg;
  EXPECT_NE(msg.find("retry in"), std::string::npos) << msg;
  // Client errors do not count against a model.
  auto healthy = StartServer({{"stories", Stories()}}, o);
  for (int i = 0; i < 5; ++i) {
    Completion(healthy->port(), {{"model", "stories"}, {"prompt", "x"}, {"max_tokens", 100000}}, &raw);
    EXPECT_EQ(raw.status, 400);
  }
  EXPECT_EQ(healthy->router().State("stories"), CircuitState::kClosed);
}

TEST(ServerRouting, ConfigSamplingDefaultsApplyWhenTheRequestOmitsThem) {
  // A config temperature of 0 makes requests without `temperature` deterministic: they are
  // cached (X-Cache appears) and repeat the published greedy text; an explicit temperature wins.
  ServerOptions o = SmallOptions();
  o.cache_max_bytes = 1 << 20;
  ModelEntryOptions e;
  e.alias = "greedy";
  e.file = Stories();
  e.sampling.temperature = 0.0;
  o.model_entries.push_back(e);
  auto server = StartServer({}, o);
  ASSERT_NE(server, nullptr);
  ClientResponse a, b, c;
  json ra = Completion(server->port(), {{"model", "greedy"}, {"prompt", ""}, {"max_tokens", 12}}, &a);
  json rb = Completion(server->port(), {{"model", "greedy"}, {"prompt", ""}, {"max_tokens", 12}}, &b);
  EXPECT_EQ(a.headers["x-cache"], "miss");
  EXPECT_EQ(b.headers["x-cache"], "hit");
  EXPECT_EQ(ra["choices"][0]["text"], rb["choices"][0]["text"]);
  EXPECT_EQ(std::string("Once upon a time, there was a little girl").substr(0, 12),
            ra["choices"][0]["text"].get<std::string>().substr(0, 12));
  Completion(server->port(), {{"model", "greedy"}, {"prompt", ""}, {"max_tokens", 12}, {"temperature", 1.0}}, &c);
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(c.headers.count("x-cache"), 0u);
}

}  // namespace
}  // namespace dv::server::testing
