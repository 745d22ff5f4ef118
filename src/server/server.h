// The deepvault API server: HTTP listener + router + model registry + metrics.
//
// Routes (docs/API.md documents each):
//   OpenAI:  GET /v1/models, POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings
//   Ollama:  GET /api/tags, POST /api/show, GET /api/ps, GET /api/version, POST /api/chat,
//            POST /api/generate, POST /api/embed
//   Ops:     GET /health (alive), GET /ready (models loadable / loaded), GET /metrics (Prometheus)
//
// Request handling never blocks an io thread: the handler parses and validates the body, then
// hands the rest (loading a model, rendering the template, tokenizing, submitting to the model's
// Scheduler) to a small work pool. Tokens come back on the scheduler thread and are written
// through the Responder.
//
// Thread safety: Start/Stop from one thread; everything else is internal.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_pool.h"
#include "deepvault/status.h"
#include "server/api_request.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/model_registry.h"
#include "server/response_cache.h"
#include "server/router.h"
#include "server/routes.h"

namespace dv::server {

// A config `[[models]]` entry: one file served under `alias`, or weighted versions served as
// "<alias>:<version>" with `alias` routed between them (see ModelRouter).
struct ModelEntryOptions {
  struct Version {
    std::string name;
    std::filesystem::path file;
    double weight = 0;
  };
  std::string alias;
  std::filesystem::path file;     // empty when versions are given
  std::vector<Version> versions;
  ModelSettings settings;         // context, threads, parallel
  SamplingDefaults sampling;      // overrides what the file recommends
  std::string fallback;           // "" = none
};

struct ServerOptions {
  HttpServerOptions http;
  RegistryOptions registry;
  std::vector<std::pair<std::string, std::filesystem::path>> models;  // explicit (name, path)
  std::vector<ModelEntryOptions> model_entries;                        // from the config file
  BreakerOptions breaker;
  uint64_t cache_max_bytes = 0;  // response cache budget; 0 = off (deepvault serve: server.cache.max_bytes)
  std::chrono::milliseconds cache_ttl{600'000};
  std::string api_key;                  // empty: no authentication
  std::string access_log = "stderr";    // "stderr", "off", or a file path (JSON lines)
  std::chrono::milliseconds default_timeout{600'000};  // per-request deadline unless the body sets one
  std::chrono::milliseconds shutdown_grace{10'000};
  int work_threads = 4;
  std::string version = "0.1.0";
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers the models, binds and starts serving. Errors: bad model entries, port in use, TLS.
  Status Start();
  uint16_t port() const { return http_->port(); }
  // Graceful: stops accepting, lets in-flight requests finish for up to shutdown_grace, then
  // cancels the rest. Idempotent.
  void Stop();

  ModelRegistry& registry() { return *registry_; }
  Metrics& metrics() { return metrics_; }
  ModelRouter& router() { return *router_; }
  ResponseCache* cache() { return cache_.get(); }  // nullptr when off

  struct RequestContext;  // internal

 private:
  void Handle(HttpRequest req, std::shared_ptr<Responder> r);
  Status RegisterModels();
  // Routes a generation, answers from the cache or dispatches it with a ResponseTap.
  void HandleGenerationRequest(const HttpRequest& req, const Json& body, GenerationRequest parsed, Dialect dialect,
                               std::shared_ptr<Responder> r);
  void WriteAccessLog(const AccessRecord& rec);
  void ReaperLoop();

  ServerOptions options_;
  Metrics metrics_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<ModelRouter> router_;
  std::unique_ptr<ResponseCache> cache_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<ThreadPool> work_;
  std::FILE* access_file_ = nullptr;
  std::mutex access_mu_;
  std::thread reaper_;
  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  std::atomic<bool> started_{false};
  std::chrono::system_clock::time_point started_at_;
};

}  // namespace dv::server
