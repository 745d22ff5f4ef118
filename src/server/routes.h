// Route handlers behind Server (internal to src/server). Each takes the parsed request and
// answers through the Responder, possibly later from another thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/thread_pool.h"
#include "server/api_request.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/model_registry.h"
#include "server/router.h"

namespace dv::server {

enum class Dialect { kOpenAi, kOllama };

struct RouteEnv {
  ModelRegistry* registry = nullptr;
  const ModelRouter* router = nullptr;  // aliases with versions, for the model listings
  Metrics* metrics = nullptr;
  ThreadPool* work = nullptr;
  std::chrono::milliseconds default_timeout{600'000};
  std::string version;
  // Generation: called on the work pool when the model cannot be acquired (load failure), before
  // anything was sent. True: it took the request over (a failed half-open probe answered by the
  // fallback model); the route then sends nothing. Unset: the route reports the error.
  std::function<bool(const Status&)> on_model_unavailable;
};

// JSON text that never throws on invalid UTF-8 (replaced by U+FFFD).
std::string DumpJson(const nlohmann::json& j);
std::string DumpJson(const nlohmann::ordered_json& j);

// Error bodies: OpenAI {"error":{"message","type","param","code"}}, Ollama {"error":"..."}.
// 429 answers carry Retry-After.
HttpResponse ErrorResponse(Dialect dialect, const Status& status);

// "2026-11-29T15:45:45.123456789Z"
std::string Rfc3339Now();

// POST /v1/chat/completions, /v1/completions, /api/chat, /api/generate.
void HandleGeneration(const RouteEnv& env, Dialect dialect, GenerationRequest request,
                      std::shared_ptr<Responder> responder);
// POST /v1/embeddings, /api/embed.
void HandleEmbedding(const RouteEnv& env, Dialect dialect, EmbeddingRequest request,
                     std::shared_ptr<Responder> responder);

// GET /v1/models, /api/tags, /api/ps, /api/version; POST /api/show.
HttpResponse ListOpenAiModels(const RouteEnv& env);
HttpResponse ListOllamaTags(const RouteEnv& env);
HttpResponse ListOllamaRunning(const RouteEnv& env);
void HandleOllamaShow(const RouteEnv& env, const nlohmann::json& body, std::shared_ptr<Responder> responder);

}  // namespace dv::server
