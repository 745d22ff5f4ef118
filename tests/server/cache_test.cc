// The response cache: LRU byte budget and TTL on the cache itself (with a test clock), then over
// real HTTP: a repeated deterministic request is answered without a forward pass, with the same
// body (or the same stream); what is not deterministic, or asked not to be cached, is not.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "http_client.h"
#include "server/response_cache.h"
#include "test_util.h"

namespace dv::server::testing {
namespace {

using nlohmann::json;
using Clock = ResponseCache::Clock;

CachedResponse Body(size_t bytes) {
  CachedResponse r;
  r.body.assign(bytes, 'x');
  return r;
}

TEST(ServerCache, EntriesExpireAfterTheirTtl) {
  Clock::time_point now{};
  ResponseCache cache(1 << 20, std::chrono::milliseconds(1000), [&] { return now; });
  ASSERT_TRUE(cache.Put("k", Body(10)));
  now += std::chrono::milliseconds(999);
  ASSERT_NE(cache.Get("k"), nullptr);
  EXPECT_EQ(cache.Get("k")->body, std::string(10, 'x'));
  now += std::chrono::milliseconds(1);
  EXPECT_EQ(cache.Get("k"), nullptr);
  EXPECT_EQ(cache.stats().expired, 1u);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(ServerCache, ByteBudgetEvictsTheLeastRecentlyUsed) {
  // Budget 80 KiB; each answer 8 KiB (+ key + overhead): nine fit, the tenth evicts.
  ResponseCache cache(80 * 1024, std::chrono::hours(1));
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(cache.Put("k" + std::to_string(i), Body(8 * 1024)));
  EXPECT_EQ(cache.stats().entries, 9u);
  ASSERT_NE(cache.Get("k0"), nullptr);  // k0 becomes most recently used; k1 is now the oldest
  ASSERT_TRUE(cache.Put("k9", Body(8 * 1024)));
  EXPECT_EQ(cache.Get("k1"), nullptr);
  EXPECT_NE(cache.Get("k0"), nullptr);
  EXPECT_NE(cache.Get("k2"), nullptr);
  EXPECT_NE(cache.Get("k9"), nullptr);
  EXPECT_EQ(cache.stats().entries, 9u);
  EXPECT_EQ(cache.stats().evicted_lru, 1u);
  EXPECT_LE(cache.stats().bytes, 80u * 1024);
  // One answer may take at most an eighth of the budget.
  EXPECT_FALSE(cache.Put("big", Body(10 * 1024)));
  EXPECT_EQ(cache.Get("big"), nullptr);
  // Replacing a key does not double-count it.
  const uint64_t before = cache.stats().bytes;
  ASSERT_TRUE(cache.Put("k9", Body(8 * 1024)));
  EXPECT_EQ(cache.stats().bytes, before);
}

TEST(ServerCache, CanonicalKeyIgnoresOrderUserAndIntegralFloats) {
  const json a = json::parse(R"({"model":"m","prompt":"x","temperature":0,"user":"alice","max_tokens":5})");
  const json b = json::parse(R"({"max_tokens":5.0,"temperature":0.0,"prompt":"x","model":"alias","user":"bob"})");
  EXPECT_EQ(CanonicalRequestKey(a, "m:v1"), CanonicalRequestKey(b, "m:v1"));
  EXPECT_NE(CanonicalRequestKey(a, "m:v1"), CanonicalRequestKey(a, "m:v2"));
  const json c = json::parse(R"({"model":"m","prompt":"x","temperature":0,"max_tokens":5,"seed":1})");
  EXPECT_NE(CanonicalRequestKey(a, "m"), CanonicalRequestKey(c, "m"));
}

class ServerCacheHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.registry.load.n_ctx = 128;
    o.registry.load.n_slots = 2;
    o.registry.scheduler.max_batch_tokens = 64;
    o.cache_max_bytes = 4 << 20;
    o.cache_ttl = std::chrono::milliseconds(ttl_ms_);
    server_ = StartServer({{"stories", dv::testing::FixturePath("models/stories260K.gguf").string()}}, o);
    ASSERT_NE(server_, nullptr);
    port_ = server_->port();
  }
  uint64_t ForwardPasses() {
    for (const auto& m : server_->registry().List()) {
      if (m.name == "stories" && m.scheduler) return m.scheduler->stats().forward_passes;
    }
    return 0;
  }
  double Cache(const char* result) {
    return server_->metrics().CounterValue("deepvault_response_cache_requests_total", {{"result", result}});
  }
  ClientResponse Chat(json body, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    body["model"] = "stories";
    if (!body.contains("messages")) body["messages"] = json::array({{{"role", "user"}, {"content", "Tell a story"}}});
    if (!body.contains("max_tokens")) body["max_tokens"] = 16;
    return Call(port_, "POST", "/v1/chat/completions", body.dump(), headers);
  }
  int ttl_ms_ = 60'000;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(ServerCacheHttp, RepeatedGreedyRequestIsAHitWithoutForwardPasses) {
  ClientResponse first = Chat({{"temperature", 0}, {"user", "alice"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["x-cache"], "miss");
  const uint64_t passes = ForwardPasses();
  ASSERT_GT(passes, 0u);
  ClientResponse second = Chat({{"user", "bob"}, {"temperature", 0.0}});  // same request, other user
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.headers["x-cache"], "hit");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(ForwardPasses(), passes);
  EXPECT_EQ(Cache("hit"), 1);
  EXPECT_EQ(Cache("miss"), 1);
  const std::string metrics = Call(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("deepvault_response_cache_requests_total{result=\"hit\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("deepvault_response_cache_entries 1"), std::string::npos);

  // Cache-Control: no-cache goes to the model again (and refreshes the entry).
  ClientResponse bypass = Chat({{"temperature", 0}}, {{"Cache-Control", "no-cache"}});
  EXPECT_EQ(bypass.status, 200);
  EXPECT_GT(ForwardPasses(), passes);
  EXPECT_EQ(Cache("bypass"), 1);
  EXPECT_EQ(json::parse(bypass.body)["choices"], json::parse(first.body)["choices"]);
}

TEST_F(ServerCacheHttp, SeedsAndSamplingDecideWhatIsCached) {
  // A different seed is a different request: a miss, then a hit for that seed.
  EXPECT_EQ(Chat({{"temperature", 0.9}, {"seed", 1}}).headers["x-cache"], "miss");
  EXPECT_EQ(Chat({{"temperature", 0.9}, {"seed", 2}}).headers["x-cache"], "miss");
  ClientResponse again = Chat({{"temperature", 0.9}, {"seed", 2}});
  EXPECT_EQ(again.headers["x-cache"], "hit");
  // Sampling without a seed is never cached, not even counted.
  const uint64_t passes = ForwardPasses();
  for (int i = 0; i < 2; ++i) {
    ClientResponse r = Chat({{"temperature", 0.9}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.count("x-cache"), 0u);
  }
  EXPECT_GT(ForwardPasses(), passes);
  EXPECT_EQ(Cache("hit"), 1);
  EXPECT_EQ(Cache("miss"), 2);
  // Other output-relevant fields are part of the key.
  EXPECT_EQ(Chat({{"temperature", 0.9}, {"seed", 2}, {"max_tokens", 15}}).headers["x-cache"], "miss");
}

TEST_F(ServerCacheHttp, StreamingHitIsReplayedAsTheSameStream) {
  const json body = {{"temperature", 0}, {"stream", true}, {"stream_options", {{"include_usage", true}}}};
  ClientResponse first = Chat(body);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.headers["x-cache"], "miss");
  const uint64_t passes = ForwardPasses();
  ClientResponse second = Chat(body);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.headers["x-cache"], "hit");
  EXPECT_EQ(second.headers["content-type"], "text/event-stream");
  EXPECT_EQ(second.headers["transfer-encoding"], "chunked");
  EXPECT_EQ(ForwardPasses(), passes);
  const auto a = SseData(first.body), b = SseData(second.body);
  ASSERT_GT(a.size(), 2u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.back(), "[DONE]");
  // The streamed and the plain form are separate entries.
  EXPECT_EQ(Chat({{"temperature", 0}}).headers["x-cache"], "miss");
  // Ollama's NDJSON stream is cached the same way.
  const json ollama = {{"model", "stories"}, {"prompt", "Once"}, {"options", {{"temperature", 0}, {"num_predict", 8}}}};
  ClientResponse o1 = Call(port_, "POST", "/api/generate", ollama.dump());
  ClientResponse o2 = Call(port_, "POST", "/api/generate", ollama.dump());
  EXPECT_EQ(o1.headers["x-cache"], "miss");
  EXPECT_EQ(o2.headers["x-cache"], "hit");
  EXPECT_EQ(o2.headers["content-type"], "application/x-ndjson");
  // Ollama's timing fields differ per run; the text must not.
  std::string t1, t2;
  for (const auto* r : {&o1, &o2}) {
    std::string& text = r == &o1 ? t1 : t2;
    size_t pos = 0;
    while (pos < r->body.size()) {
      const size_t nl = r->body.find('\n', pos);
      json line = json::parse(r->body.substr(pos, nl - pos));
      text += line.value("response", "");
      pos = nl + 1;
    }
  }
  EXPECT_FALSE(t1.empty());
  EXPECT_EQ(t1, t2);
}

class ServerCacheTtl : public ServerCacheHttp {
 protected:
  void SetUp() override {
    ttl_ms_ = 300;
    ServerCacheHttp::SetUp();
  }
};

TEST_F(ServerCacheTtl, AnExpiredAnswerIsComputedAgain) {
  EXPECT_EQ(Chat({{"temperature", 0}}).headers["x-cache"], "miss");
  EXPECT_EQ(Chat({{"temperature", 0}}).headers["x-cache"], "hit");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const uint64_t passes = ForwardPasses();
  EXPECT_EQ(Chat({{"temperature", 0}}).headers["x-cache"], "miss");
  EXPECT_GT(ForwardPasses(), passes);
  EXPECT_EQ(server_->cache()->stats().expired, 1u);
}

}  // namespace
}  // namespace dv::server::testing
