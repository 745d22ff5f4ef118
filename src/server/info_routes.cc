// Embeddings, model listings, errors and small helpers shared by the routes.
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>

#include "server/routes.h"

namespace dv::server {
namespace {

using OJson = nlohmann::ordered_json;

std::string Base64(const void* data, size_t n) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < n ? kTable[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kTable[v & 63] : '=';
  }
  return out;
}

std::string Rfc3339(std::chrono::system_clock::time_point tp) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp - secs).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns));
  return buf;
}

int64_t UnixSeconds(std::filesystem::file_time_type ft) {
  const auto sys = std::chrono::file_clock::to_sys(ft);
  return std::chrono::duration_cast<std::chrono::seconds>(sys.time_since_epoch()).count();
}

std::string ParameterSize(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  } else if (n >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  }
  return buf;
}

OJson OllamaDetails(const ModelListing& m) {
  OJson d = {{"parent_model", ""}, {"format", m.path.extension() == ".gguf" ? "gguf" : "safetensors"}};
  if (m.scheduler) {
    const ModelInfo& info = m.scheduler->model().info();
    d["family"] = info.arch;
    d["families"] = OJson::array({info.arch});
    d["parameter_size"] = ParameterSize(info.n_params);
    d["quantization_level"] = info.quantization;
  } else {
    d["family"] = "";
    d["families"] = nullptr;
    d["parameter_size"] = "";
    d["quantization_level"] = "";
  }
  return d;
}

// A stable pseudo-digest of the model's identity (path, size, mtime); Ollama clients only display it.
std::string Digest(const ModelListing& m) {
  const std::string key = m.path.string() + "|" + std::to_string(m.size_bytes) + "|" + std::to_string(UnixSeconds(m.modified));
  uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull;
  for (unsigned char c : key) {
    h1 = (h1 ^ c) * 1099511628211ull;
    h2 = (h2 + c) * 6364136223846793005ull + 1;
  }
  char buf[80];
  std::snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx", static_cast<unsigned long long>(h1),
                static_cast<unsigned long long>(h2), static_cast<unsigned long long>(h1 ^ h2),
                static_cast<unsigned long long>(h1 * 31 + h2));
  return buf;
}

}  // namespace

std::string DumpJson(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
std::string DumpJson(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string Rfc3339Now() { return Rfc3339(std::chrono::system_clock::now()); }

HttpResponse ErrorResponse(Dialect dialect, const Status& status) {
  const int http = status.http_status();
  HttpResponse r;
  r.status = http;
  if (http == 429) r.headers.push_back({"Retry-After", "1"});
  if (dialect == Dialect::kOllama) {
    r.body = DumpJson(OJson{{"error", status.Describe()}});
    return r;
  }
  std::string type = "server_error";
  std::string code(StatusCodeName(status.code()));
  if (http == 400 || http == 413 || http == 431) type = "invalid_request_error";
  else if (http == 401) type = "authentication_error";
  else if (http == 403) type = "permission_error";
  else if (http == 404) type = "invalid_request_error", code = "model_not_found";
  else if (http == 429) type = "rate_limit_error", code = "rate_limit_exceeded";
  else if (http == 501) type = "not_implemented_error";
  else if (http == 504) type = "timeout_error";
  r.body = DumpJson(OJson{{"error", {{"message", status.Describe()}, {"type", type}, {"param", ErrorParam(status).empty() ? OJson() : OJson(ErrorParam(status))}, {"code", code}}}});
  return r;
}

// The registry's models, then each alias with versions (listed like its first version).
std::vector<ModelListing> ListingsWithAliases(const RouteEnv& env) {
  std::vector<ModelListing> out = env.registry->List();
  if (!env.router) return out;
  const size_t n = out.size();
  for (const auto& [alias, versions] : env.router->aliases()) {
    for (size_t i = 0; i < n; ++i) {
      if (out[i].name != versions.front().model) continue;
      ModelListing l = out[i];
      l.name = alias;
      out.push_back(std::move(l));
      break;
    }
  }
  return out;
}

HttpResponse ListOpenAiModels(const RouteEnv& env) {
  OJson data = OJson::array();
  for (const auto& m : ListingsWithAliases(env)) {
    data.push_back({{"id", m.name}, {"object", "model"}, {"created", UnixSeconds(m.modified)}, {"owned_by", "deepvault"}});
  }
  return HttpResponse::Json(200, DumpJson(OJson{{"object", "list"}, {"data", std::move(data)}}));
}

HttpResponse ListOllamaTags(const RouteEnv& env) {
  OJson models = OJson::array();
  for (const auto& m : ListingsWithAliases(env)) {
    models.push_back({{"name", m.name},
                      {"model", m.name},
                      {"modified_at", Rfc3339(std::chrono::system_clock::time_point(
                                          std::chrono::seconds(UnixSeconds(m.modified))))},
                      {"size", m.size_bytes},
                      {"digest", Digest(m)},
                      {"details", OllamaDetails(m)}});
  }
  return HttpResponse::Json(200, DumpJson(OJson{{"models", std::move(models)}}));
}

HttpResponse ListOllamaRunning(const RouteEnv& env) {
  OJson models = OJson::array();
  for (const auto& m : env.registry->List()) {
    if (!m.loaded) continue;
    const ModelInfo& info = m.scheduler->model().info();
    models.push_back({{"name", m.name},
                      {"model", m.name},
                      {"size", m.size_bytes + info.kv_bytes},
                      {"digest", Digest(m)},
                      {"details", OllamaDetails(m)},
                      {"expires_at", Rfc3339(m.expires_at)},
                      {"size_vram", 0},
                      {"context_length", info.n_ctx}});
  }
  return HttpResponse::Json(200, DumpJson(OJson{{"models", std::move(models)}}));
}

void HandleOllamaShow(const RouteEnv& env, const nlohmann::json& body, std::shared_ptr<Responder> responder) {
  std::string name;
  for (const char* key : {"model", "name"}) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string()) name = it->get<std::string>();
  }
  if (name.empty()) {
    return responder->Send(ErrorResponse(Dialect::kOllama, InvalidArgument("model is required")));
  }
  env.work->Submit([env, name, responder] {
    auto sched = env.registry->Acquire(name);
    if (!sched.ok()) return responder->Send(ErrorResponse(Dialect::kOllama, sched.status()));
    ModelListing listing;
    for (auto& m : env.registry->List()) {
      if (m.name == name) listing = m;
    }
    const LoadedModel& model = (*sched)->model();
    const ModelInfo& info = model.info();
    const auto& c = model.config();
    OJson model_info = {{"general.architecture", info.arch},
                        {"general.parameter_count", info.n_params},
                        {info.arch + ".context_length", c.n_ctx_train},
                        {info.arch + ".embedding_length", c.n_embd},
                        {info.arch + ".block_count", c.n_layer},
                        {info.arch + ".attention.head_count", c.n_head},
                        {info.arch + ".attention.head_count_kv", c.n_head_kv},
                        {info.arch + ".feed_forward_length", c.n_ff},
                        {"tokenizer.vocab_size", model.tokenizer().vocab_size()}};
    OJson capabilities = OJson::array({"completion"});
    if (info.reasoning) capabilities.push_back("thinking");
    capabilities.push_back("embedding");
    OJson out = {{"license", ""},
                 {"modelfile", "# served by deepvault from " + listing.path.string() + "\nFROM " + listing.path.string()},
                 {"parameters", ""},
                 {"template", model.chat_template().source()},
                 {"details", OllamaDetails(listing)},
                 {"model_info", std::move(model_info)},
                 {"capabilities", std::move(capabilities)},
                 {"modified_at", Rfc3339(std::chrono::system_clock::time_point(
                                     std::chrono::seconds(UnixSeconds(listing.modified))))}};
    responder->Send(HttpResponse::Json(200, DumpJson(out)));
  });
}

void HandleEmbedding(const RouteEnv& env, Dialect dialect, EmbeddingRequest request,
                     std::shared_ptr<Responder> responder) {
  env.work->Submit([env, dialect, req = std::move(request), responder]() mutable {
    const auto start = std::chrono::steady_clock::now();
    auto acquired = env.registry->Acquire(req.model);
    if (!acquired.ok()) return responder->Send(ErrorResponse(dialect, acquired.status()));
    std::shared_ptr<Scheduler> sched = std::move(acquired).value();
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const LoadedModel& model = sched->model();
    if (req.dimensions && *req.dimensions != model.info().n_embd) {
      return responder->Send(ErrorResponse(
          dialect, InvalidArgument("dimensions must equal the model's embedding size " +
                                   std::to_string(model.info().n_embd) + " (no Matryoshka truncation)")));
    }
    std::vector<std::vector<int32_t>> inputs = req.token_inputs;
    for (const auto& text : req.texts) {
      tok::EncodeOptions opts;
      opts.add_special = true;
      auto ids = model.tokenizer().Encode(text, opts);
      if (!ids.ok()) return responder->Send(ErrorResponse(dialect, ids.status()));
      inputs.push_back(std::move(ids).value());
    }
    int total_tokens = 0;
    for (auto& ids : inputs) {
      for (int32_t t : ids) {
        if (!model.tokenizer().IsValidId(t)) {
          return responder->Send(ErrorResponse(dialect, InvalidArgument("input token id " + std::to_string(t) +
                                                                        " is outside the vocabulary")));
        }
      }
      if (static_cast<int>(ids.size()) > model.info().n_ctx) {
        if (!req.truncate) {
          return responder->Send(ErrorResponse(
              dialect, InvalidArgument("an input has " + std::to_string(ids.size()) +
                                       " tokens, more than the model's context of " +
                                       std::to_string(model.info().n_ctx))));
        }
        ids.resize(static_cast<size_t>(model.info().n_ctx));
      }
      total_tokens += static_cast<int>(ids.size());
    }
    struct Gather {
      std::mutex mu;
      std::vector<std::vector<float>> vectors;
      Status error;
      int remaining = 0;
    };
    auto g = std::make_shared<Gather>();
    g->vectors.resize(inputs.size());
    g->remaining = static_cast<int>(inputs.size());
    auto finish = [=]() {
      if (!g->error.ok()) return responder->Send(ErrorResponse(dialect, g->error));
      if (dialect == Dialect::kOllama) {
        OJson out = {{"model", req.model}, {"embeddings", g->vectors}};
        out["total_duration"] =
            static_cast<int64_t>(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e9);
        out["load_duration"] = static_cast<int64_t>(load_s * 1e9);
        out["prompt_eval_count"] = total_tokens;
        return responder->Send(HttpResponse::Json(200, DumpJson(out)));
      }
      OJson data = OJson::array();
      for (size_t i = 0; i < g->vectors.size(); ++i) {
        OJson item = {{"object", "embedding"}, {"index", i}};
        if (req.base64) {
          item["embedding"] = Base64(g->vectors[i].data(), g->vectors[i].size() * sizeof(float));
        } else {
          item["embedding"] = g->vectors[i];
        }
        data.push_back(std::move(item));
      }
      OJson out = {{"object", "list"},
                   {"data", std::move(data)},
                   {"model", req.model},
                   {"usage", {{"prompt_tokens", total_tokens}, {"total_tokens", total_tokens}}}};
      responder->Send(HttpResponse::Json(200, DumpJson(out)));
    };
    const auto deadline = std::chrono::steady_clock::now() + env.default_timeout;
    for (size_t i = 0; i < inputs.size(); ++i) {
      EmbedJob job;
      job.tokens = std::move(inputs[i]);
      job.last_token_pooling = model.info().last_token_pooling;
      job.deadline = deadline;
      job.on_done = [g, i, finish, sched](Result<std::vector<float>> r) {
        bool last = false;
        {
          std::lock_guard lock(g->mu);
          if (r.ok()) {
            g->vectors[i] = std::move(r).value();
          } else if (g->error.ok()) {
            g->error = r.status();
          }
          last = --g->remaining == 0;
        }
        if (last) finish();
      };
      Status st = sched->SubmitEmbedding(std::move(job));
      if (!st.ok()) {
        bool last = false;
        {
          std::lock_guard lock(g->mu);
          if (g->error.ok()) g->error = st;
          // This and every later input will not run.
          g->remaining -= static_cast<int>(inputs.size() - i);
          last = g->remaining == 0;
        }
        if (last) finish();
        return;
      }
    }
  });
}

}  // namespace dv::server
