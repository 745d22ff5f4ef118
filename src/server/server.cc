#include "server/server.h"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <set>

#include "server/api_request.h"
#include "server/json_input.h"
#include "server/model_defaults.h"
#include "server/response_tap.h"
#include "server/routes.h"

namespace dv::server {
namespace {

using OJson = nlohmann::ordered_json;

// Known routes, as the metrics label them (unknown paths are "other" to bound cardinality).
constexpr std::string_view kRoutes[] = {
    "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/api/tags", "/api/show",
    "/api/ps",    "/api/version",         "/api/chat",       "/api/generate",   "/api/embed", "/health",
    "/ready",     "/metrics",
};

std::string RouteLabel(std::string_view path) {
  for (std::string_view r : kRoutes) {
    if (path == r) return std::string(r);
  }
  return "other";
}

// Constant-time comparison of secrets.
bool SecretEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string JsonEscape(std::string_view s) { return DumpJson(nlohmann::json(std::string(s))); }

// Streaming connections each hold a socket: lift the soft descriptor limit to the hard one.
void RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0) {
    spdlog::debug("raised the open file limit from {} to {}", before, lim.rlim_cur);
  } else {
    spdlog::warn("cannot raise the open file limit above {}; at most that many connections", before);
  }
}

// Who a request is for, so that canary routing is sticky: the OpenAI `user` field or the
// X-User-Id header (same namespace: a user keeps its version across APIs), else the API key.
std::string UserKey(const HttpRequest& req, const std::string& user) {
  if (!user.empty()) return "user:" + user;
  if (std::string_view h = req.Header("X-User-Id"); !h.empty()) return "user:" + std::string(h);
  std::string_view auth = req.Header("Authorization");
  if (auth.size() > 7) return "key:" + std::string(auth.substr(7));
  if (std::string_view k = req.Header("X-Api-Key"); !k.empty()) return "key:" + std::string(k);
  return "";
}

// The model's default sampling for the fields the request leaves out (top level, or Ollama's
// `options`).
void ApplySamplingDefaults(const Json& body, bool ollama, const std::optional<SamplingDefaults>& d,
                           SamplingParams& sampling) {
  if (!d) return;
  auto given = [&](const char* key) {
    if (auto it = body.find(key); it != body.end() && !it->is_null()) return true;
    if (!ollama) return false;
    auto o = body.find("options");
    if (o == body.end() || !o->is_object()) return false;
    auto it = o->find(key);
    return it != o->end() && !it->is_null();
  };
  if (d->temperature && !given("temperature")) sampling.temperature = *d->temperature;
  if (d->top_p && !given("top_p")) sampling.top_p = *d->top_p;
  if (d->top_k && !given("top_k")) sampling.top_k = *d->top_k;
  if (d->min_p && !given("min_p")) sampling.min_p = *d->min_p;
}

// How a generation ended, for the circuit breaker: the model answered, the model failed (5xx,
// or an error event in the stream other than a deadline), or it says nothing about the model
// (client errors, rate limits, cancellations).
CircuitBreaker::Outcome Classify(const TappedResponse& t, Dialect dialect) {
  using Outcome = CircuitBreaker::Outcome;
  const int status = t.response.status;
  if (!t.response.stream || status != 200) {
    if (status >= 200 && status < 300) return Outcome::kSuccess;
    if (status == 500 || status == 503) return Outcome::kFailure;
    return Outcome::kNeutral;
  }
  const std::string& last = t.last_chunk;
  if (dialect == Dialect::kOpenAi) {
    if (last == "data: [DONE]\n\n") return Outcome::kSuccess;
  } else {
    auto line = Json::parse(last, nullptr, false);
    if (line.is_object() && !line.contains("error") && line.value("done", false)) return Outcome::kSuccess;
  }
  if (last.find("\"error\"") != std::string::npos) {
    const bool deadline = last.find("timeout_error") != std::string::npos || last.find("deadline") != std::string::npos;
    return deadline ? Outcome::kNeutral : Outcome::kFailure;
  }
  return Outcome::kNeutral;  // cancelled or the client left
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  registry_ = std::make_unique<ModelRegistry>(options_.registry, &metrics_);
  router_ = std::make_unique<ModelRouter>(options_.breaker, &metrics_);
  if (options_.cache_max_bytes > 0) {
    cache_ = std::make_unique<ResponseCache>(options_.cache_max_bytes, options_.cache_ttl);
    metrics_.Describe("deepvault_response_cache_requests_total", "counter",
                      "Deterministic generation requests by cache result (hit, miss, bypass).");
    metrics_.Describe("deepvault_response_cache_bytes", "gauge", "Bytes held by the response cache.");
    metrics_.Describe("deepvault_response_cache_entries", "gauge", "Answers held by the response cache.");
    metrics_.Describe("deepvault_response_cache_evictions_total", "counter",
                      "Answers dropped from the response cache (reason: lru, ttl).");
    ResponseCache* c = cache_.get();
    metrics_.Gauge("deepvault_response_cache_bytes", {}, [c] { return static_cast<double>(c->stats().bytes); });
    metrics_.Gauge("deepvault_response_cache_entries", {}, [c] { return static_cast<double>(c->stats().entries); });
    metrics_.Gauge("deepvault_response_cache_evictions_total", {{"reason", "lru"}},
                   [c] { return static_cast<double>(c->stats().evicted_lru); });
    metrics_.Gauge("deepvault_response_cache_evictions_total", {{"reason", "ttl"}},
                   [c] { return static_cast<double>(c->stats().expired); });
  }
  http_ = std::make_unique<HttpServer>(options_.http);
  metrics_.Describe("deepvault_http_requests_total", "counter", "HTTP requests by route and status code.");
  metrics_.Describe("deepvault_http_request_duration_seconds", "histogram", "End-to-end HTTP request latency.");
  metrics_.Describe("deepvault_time_to_first_token_seconds", "histogram", "Submit to first generated token.");
  metrics_.Describe("deepvault_time_per_output_token_seconds", "histogram", "Mean time between generated tokens.");
  metrics_.Describe("deepvault_generation_seconds", "histogram", "Submit to end of one generated sequence.");
  metrics_.Describe("deepvault_prompt_tokens_total", "counter", "Prompt tokens of generation requests.");
  metrics_.Describe("deepvault_prompt_tokens_cached_total", "counter", "Prompt tokens reused from the prefix cache.");
  metrics_.Describe("deepvault_completion_tokens_total", "counter", "Generated tokens.");
  metrics_.Describe("deepvault_errors_total", "counter", "Requests answered with an error, by status code.");
  metrics_.Describe("deepvault_queue_depth", "gauge", "Jobs waiting for a sequence slot.");
  metrics_.Describe("deepvault_active_sequences", "gauge", "Sequences being generated.");
  metrics_.Describe("deepvault_kv_cache_used_positions", "gauge", "KV cache positions held by active sequences.");
  metrics_.Describe("deepvault_kv_cache_total_positions", "gauge", "KV cache positions allocated.");
  metrics_.Describe("deepvault_forward_passes_total", "counter", "Batched forward passes run.");
  metrics_.Describe("deepvault_prefix_cache_tokens_total", "counter", "Prompt tokens served from the prefix cache.");
  metrics_.Describe("deepvault_model_loads_total", "counter", "Models loaded since start.");
  metrics_.Describe("deepvault_models_loaded", "gauge", "Models currently loaded.");
  metrics_.Describe("deepvault_http_in_flight", "gauge", "Requests being handled.");
  metrics_.Describe("deepvault_http_connections", "gauge", "Open client connections.");
  metrics_.Gauge("deepvault_model_loads_total", {}, [this] { return static_cast<double>(registry_->loads()); });
  metrics_.Gauge("deepvault_models_loaded", {}, [this] { return static_cast<double>(registry_->loaded_count()); });
  metrics_.Gauge("deepvault_http_in_flight", {}, [this] { return static_cast<double>(http_->in_flight()); });
  metrics_.Gauge("deepvault_http_connections", {}, [this] { return static_cast<double>(http_->open_connections()); });
}

Server::~Server() { Stop(); }

Status Server::RegisterModels() {
  for (const auto& [name, path] : options_.models) DV_RETURN_IF_ERROR(registry_->AddModel(name, path));
  std::map<std::string, SamplingDefaults> configured;  // served name → config sampling
  for (const auto& e : options_.model_entries) {
    auto add = [&](const std::string& name, const std::filesystem::path& file) -> Status {
      DV_RETURN_IF_ERROR(registry_->AddModel(name, file, e.settings).AddContext("config models entry " + e.alias));
      configured[name] = e.sampling;
      if (!e.fallback.empty()) router_->SetFallback(name, e.fallback);
      return Status::Ok();
    };
    if (e.versions.empty()) {
      DV_RETURN_IF_ERROR(add(e.alias, e.file));
      continue;
    }
    std::vector<RouteVersion> versions;
    for (const auto& v : e.versions) {
      const std::string name = e.alias + ":" + v.name;
      DV_RETURN_IF_ERROR(add(name, v.file));
      versions.push_back({name, v.weight});
    }
    router_->AddAlias(e.alias, std::move(versions));
  }
  DV_RETURN_IF_ERROR(registry_->Scan());
  for (const std::string& name : router_->ReferencedNames()) {
    if (!registry_->Has(name) && !router_->IsAlias(name)) {
      return InvalidArgument("config models entry: fallback \"" + name + "\" is not a known model");
    }
  }
  for (const auto& m : registry_->List()) {
    auto it = configured.find(m.name);
    const SamplingDefaults d = MergeSamplingDefaults(ReadSamplingDefaults(m.path),
                                                     it == configured.end() ? SamplingDefaults() : it->second);
    if (!d.empty()) router_->SetSamplingDefaults(m.name, d);
  }
  return Status::Ok();
}

Status Server::Start() {
  RaiseFileLimit();
  DV_RETURN_IF_ERROR(RegisterModels());
  if (options_.access_log != "off" && options_.access_log != "stderr") {
    access_file_ = std::fopen(options_.access_log.c_str(), "a");
    if (!access_file_) return Unavailable("cannot open access log " + options_.access_log);
  }
  work_ = std::make_unique<ThreadPool>(static_cast<size_t>(std::max(1, options_.work_threads)));
  http_->SetHandler([this](HttpRequest req, std::shared_ptr<Responder> r) { Handle(std::move(req), std::move(r)); });
  http_->SetAccessLog([this](const AccessRecord& rec) { WriteAccessLog(rec); });
  DV_RETURN_IF_ERROR(http_->Start());
  started_ = true;
  started_at_ = std::chrono::system_clock::now();
  reaper_ = std::thread([this] { ReaperLoop(); });
  return Status::Ok();
}

void Server::Stop() {
  if (!started_.exchange(false)) return;
  http_->Stop(options_.shutdown_grace);
  {
    std::lock_guard lock(reaper_mu_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  reaper_.join();
  work_.reset();       // finishes queued preparation work
  registry_.reset();   // cancels what still runs and joins the model threads
  if (access_file_) std::fclose(access_file_);
  access_file_ = nullptr;
}

void Server::ReaperLoop() {
  std::unique_lock lock(reaper_mu_);
  while (!stopping_) {
    reaper_cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    lock.unlock();
    registry_->Reap();
    lock.lock();
  }
}

void Server::WriteAccessLog(const AccessRecord& rec) {
  const std::string route = RouteLabel(rec.path);
  metrics_.Add("deepvault_http_requests_total", {{"route", route}, {"status", std::to_string(rec.status)}});
  metrics_.Observe("deepvault_http_request_duration_seconds", {{"route", route}}, rec.duration_s);
  if (rec.status >= 400) metrics_.Add("deepvault_errors_total", {{"status", std::to_string(rec.status)}});
  if (options_.access_log == "off") return;
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.6f", rec.duration_s);
  const std::string line = "{\"ts\":" + JsonEscape(Rfc3339Now()) + ",\"type\":\"access\",\"request_id\":" +
                           JsonEscape(rec.request_id) + ",\"remote\":" + JsonEscape(rec.remote) +
                           ",\"method\":" + JsonEscape(rec.method) + ",\"path\":" + JsonEscape(rec.path) +
                           ",\"status\":" + std::to_string(rec.status) + ",\"bytes\":" + std::to_string(rec.bytes_out) +
                           ",\"duration_s\":" + duration + ",\"client_gone\":" + (rec.client_gone ? "true" : "false") +
                           "}\n";
  std::lock_guard lock(access_mu_);
  std::FILE* out = access_file_ ? access_file_ : stderr;
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

void Server::Handle(HttpRequest req, std::shared_ptr<Responder> r) {
  RouteEnv env;
  env.registry = registry_.get();
  env.router = router_.get();
  env.metrics = &metrics_;
  env.work = work_.get();
  env.default_timeout = options_.default_timeout;
  env.version = options_.version;
  const std::string& path = req.path;
  const bool ollama = path.starts_with("/api/");
  const Dialect dialect = ollama ? Dialect::kOllama : Dialect::kOpenAi;
  auto fail = [&](const Status& s) { r->Send(ErrorResponse(dialect, s)); };

  // Operational routes, open without a key.
  if (path == "/health") {
    if (req.method != "GET" && req.method != "HEAD") return fail(InvalidArgument("use GET /health"));
    return r->Send(HttpResponse::Json(200, R"({"status":"ok"})"));
  }
  if (path == "/ready") {
    const auto models = registry_->List();
    int loaded = 0;
    for (const auto& m : models) loaded += m.loaded ? 1 : 0;
    const bool ready = !models.empty();
    OJson body = {{"status", ready ? "ready" : "no_models"}, {"models", models.size()}, {"loaded", loaded}};
    return r->Send(HttpResponse::Json(ready ? 200 : 503, DumpJson(body)));
  }

  if (!options_.api_key.empty()) {
    std::string_view auth = req.Header("Authorization");
    std::string_view key;
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) key = auth.substr(7);
    if (key.empty()) key = req.Header("X-Api-Key");
    if (!SecretEquals(key, options_.api_key)) {
      return fail(Unauthenticated("a valid API key is required (Authorization: Bearer <key>)"));
    }
  }

  if (path == "/metrics") {
    if (req.method != "GET") return fail(InvalidArgument("use GET /metrics"));
    return r->Send(HttpResponse::Text(200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8"));
  }

  const bool is_get = req.method == "GET" || req.method == "HEAD";
  const bool is_post = req.method == "POST";
  if (path == "/v1/models" && is_get) return r->Send(ListOpenAiModels(env));
  if (path == "/api/tags" && is_get) return r->Send(ListOllamaTags(env));
  if (path == "/api/ps" && is_get) return r->Send(ListOllamaRunning(env));
  if (path == "/api/version" && is_get) {
    return r->Send(HttpResponse::Json(200, DumpJson(OJson{{"version", options_.version}})));
  }
  if (path == "/" && is_get) return r->Send(HttpResponse::Text(200, "deepvault is running"));

  using Parser = Result<GenerationRequest> (*)(const Json&);
  Parser gen_parser = nullptr;
  if (path == "/v1/chat/completions") gen_parser = &ParseOpenAiChat;
  else if (path == "/v1/completions") gen_parser = &ParseOpenAiCompletion;
  else if (path == "/api/chat") gen_parser = &ParseOllamaChat;
  else if (path == "/api/generate") gen_parser = &ParseOllamaGenerate;
  const bool embed = path == "/v1/embeddings" || path == "/api/embed";
  const bool show = path == "/api/show";
  if (!gen_parser && !embed && !show) {
    const bool known = RouteLabel(path) != "other";
    return fail(known ? InvalidArgument("method " + req.method + " is not allowed on " + path)
                      : NotFound("no route " + req.method + " " + path.substr(0, 200)));
  }
  if (!is_post) return fail(InvalidArgument("use POST " + path));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return fail(body.status());
  if (show) return HandleOllamaShow(env, *body, r);
  if (embed) {
    auto parsed = ollama ? ParseOllamaEmbed(*body) : ParseOpenAiEmbedding(*body);
    if (!parsed.ok()) return fail(parsed.status());
    if (router_->IsAlias(parsed->model)) parsed->model = router_->PickVersion(parsed->model, UserKey(req, ""));
    if (!registry_->Has(parsed->model)) {
      return fail(NotFound("model \"" + parsed->model + "\" does not exist; see " + (ollama ? "/api/tags" : "/v1/models")));
    }
    return HandleEmbedding(env, dialect, std::move(parsed).value(), r);
  }
  auto parsed = gen_parser(*body);
  if (!parsed.ok()) return fail(parsed.status());
  if (!registry_->Has(parsed->model) && !router_->IsAlias(parsed->model)) {
    return fail(NotFound("model \"" + parsed->model + "\" does not exist; see " + (ollama ? "/api/tags" : "/v1/models")));
  }
  HandleGenerationRequest(req, *body, std::move(parsed).value(), dialect, std::move(r));
}

void Server::HandleGenerationRequest(const HttpRequest& req, const Json& body, GenerationRequest parsed,
                                     Dialect dialect, std::shared_ptr<Responder> r) {
  auto decision = router_->Route(parsed.model, UserKey(req, parsed.user));
  if (!decision.ok()) return r->Send(ErrorResponse(dialect, decision.status()));
  // A half-open probe whose model cannot be loaded re-opens the circuit, and the request is routed
  // again (to the fallback now) instead of failing. Only the first probe of a request, so a chain
  // of failing fallbacks ends.
  std::function<bool(const Status&)> on_model_unavailable;
  if (decision->probe && decision->fallback_from.empty() && router_->HasFallback(decision->model)) {
    on_model_unavailable = [this, decision = *decision, req = std::make_shared<const HttpRequest>(req),
                            body = std::make_shared<const Json>(body), parsed, dialect, r](const Status& error) {
      spdlog::warn("half-open probe of model {} failed ({}); routing the request again", decision.model,
                   error.message());
      router_->Record(decision, CircuitBreaker::Outcome::kFailure);
      GenerationRequest again = parsed;
      again.model = decision.requested;
      HandleGenerationRequest(*req, *body, std::move(again), dialect, r);
      return true;
    };
  }
  parsed.model = decision->model;
  ApplySamplingDefaults(body, dialect == Dialect::kOllama, router_->Defaults(decision->model), parsed.sampling);
  parsed.no_cache = req.Header("Cache-Control").find("no-cache") != std::string_view::npos;

  std::vector<HttpHeader> headers = {{"X-Deepvault-Model", decision->model}};
  if (!decision->fallback_from.empty()) headers.push_back({"X-Deepvault-Fallback-From", decision->fallback_from});

  // Deterministic answers come from (and go to) the response cache.
  std::string cache_key;
  const bool deterministic = parsed.sampling.temperature == 0 || parsed.sampling.has_seed;
  if (cache_ && deterministic) {
    cache_key = registry_->FileTag(decision->model) + "\n" + req.path + "\n" + CanonicalRequestKey(body, decision->model);
    if (parsed.no_cache) {
      metrics_.Add("deepvault_response_cache_requests_total", {{"result", "bypass"}});
    } else if (auto hit = cache_->Get(cache_key)) {
      metrics_.Add("deepvault_response_cache_requests_total", {{"result", "hit"}});
      router_->Record(*decision, CircuitBreaker::Outcome::kNeutral);  // frees a probe slot; says nothing
      HttpResponse head;
      head.status = hit->status;
      head.content_type = hit->content_type;
      head.headers = hit->headers;
      head.headers.insert(head.headers.end(), headers.begin(), headers.end());
      head.headers.push_back({"X-Cache", "hit"});
      if (!hit->stream) {
        head.body = hit->body;
        return r->Send(std::move(head));
      }
      r->StartStream(std::move(head));
      for (const auto& chunk : hit->chunks) {
        if (!r->Write(chunk)) break;
      }
      return r->End();
    } else {
      metrics_.Add("deepvault_response_cache_requests_total", {{"result", "miss"}});
    }
    headers.push_back({"X-Cache", "miss"});
  }

  const uint64_t record_limit = cache_key.empty() ? 0 : cache_->max_entry_bytes();
  auto on_finish = [this, decision = *decision, cache_key, dialect](const TappedResponse& t) {
    const auto outcome = Classify(t, dialect);
    router_->Record(decision, outcome);
    if (!cache_key.empty() && outcome == CircuitBreaker::Outcome::kSuccess && t.recorded &&
        t.response.status == 200) {
      cache_->Put(cache_key, t.response);
    }
  };
  auto tap = std::make_shared<ResponseTap>(std::move(r), std::move(headers), record_limit, std::move(on_finish));
  RouteEnv env;
  env.registry = registry_.get();
  env.metrics = &metrics_;
  env.work = work_.get();
  env.default_timeout = options_.default_timeout;
  env.version = options_.version;
  env.on_model_unavailable = std::move(on_model_unavailable);
  HandleGeneration(env, dialect, std::move(parsed), std::move(tap));
}

}  // namespace dv::server
