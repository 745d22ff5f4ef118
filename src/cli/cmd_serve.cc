// deepvault serve: the OpenAI- and Ollama-compatible API server.
#include <signal.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "server/server.h"

#ifndef DEEPVAULT_VERSION
#error "DEEPVAULT_VERSION must be defined by the build"
#endif

namespace dv::cli {
namespace {

struct ServeArgs {
  std::string host;
  int port = -1;
  std::vector<std::string> models;
  std::string models_dir;
  std::string api_key;
};

std::chrono::milliseconds Ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::string ServedName(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  if (name.empty()) name = path.parent_path().filename().string();
  if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
  return name;
}

Result<server::ServerOptions> BuildOptions(const Config& cfg, const ServeArgs& args) {
  server::ServerOptions o;
  o.version = DEEPVAULT_VERSION;
  o.http.host = args.host.empty() ? cfg.GetString("server.host") : args.host;
  const int64_t port = args.port >= 0 ? args.port : cfg.GetInt("server.port");
  if (port < 0 || port > 65535) return InvalidArgument("--port must be in [0, 65535], got " + std::to_string(port));
  o.http.port = static_cast<uint16_t>(port);
  o.http.io_threads = static_cast<int>(cfg.GetInt("server.io_threads"));
  o.http.limits.max_body_bytes = static_cast<size_t>(cfg.GetInt("server.max_body_bytes"));
  o.http.limits.max_header_bytes = static_cast<size_t>(cfg.GetInt("server.max_header_bytes"));
  o.http.limits.request_timeout = Ms(cfg.GetDouble("server.request_timeout_s"));
  o.http.limits.idle_timeout = Ms(cfg.GetDouble("server.idle_timeout_s"));
  o.http.tls.certificate_file = cfg.GetString("server.tls_cert");
  o.http.tls.private_key_file = cfg.GetString("server.tls_key");
  o.api_key = args.api_key.empty() ? cfg.GetString("server.api_key") : args.api_key;
  o.access_log = cfg.GetString("server.access_log");
  o.default_timeout = Ms(cfg.GetDouble("server.generation_timeout_s"));
  o.shutdown_grace = Ms(cfg.GetDouble("server.shutdown_grace_s"));
  o.registry.load.n_ctx = static_cast<int>(cfg.GetInt("server.context"));
  o.registry.load.n_slots = static_cast<int>(cfg.GetInt("server.parallel"));
  o.registry.load.n_threads = static_cast<int>(cfg.GetInt("threads"));
  o.registry.load.map_weights = cfg.GetBool("mmap");
  o.registry.load.kv_budget_bytes = static_cast<uint64_t>(cfg.GetInt("server.kv_budget_mib")) << 20;
  o.registry.memory_budget_bytes = static_cast<uint64_t>(cfg.GetInt("server.memory_budget_mib")) << 20;
  o.registry.scheduler.max_batch_tokens = static_cast<int>(cfg.GetInt("server.batch_tokens"));
  o.registry.scheduler.max_queue = static_cast<int>(cfg.GetInt("server.queue"));
  o.registry.idle_unload = std::chrono::seconds(cfg.GetInt("server.idle_unload_s"));
  std::string models_dir = args.models_dir.empty() ? cfg.GetString("models_dir") : args.models_dir;
  if (models_dir.empty()) models_dir = (std::filesystem::path(cfg.GetString("data_dir")) / "models").string();
  o.registry.models_dir = models_dir;
  o.breaker.window = Ms(cfg.GetDouble("server.breaker.window_s"));
  o.breaker.error_rate = cfg.GetDouble("server.breaker.error_rate");
  o.breaker.min_requests = static_cast<int>(cfg.GetInt("server.breaker.min_requests"));
  o.breaker.cooldown = Ms(cfg.GetDouble("server.breaker.cooldown_s"));
  o.cache_max_bytes = static_cast<uint64_t>(cfg.GetInt("server.cache.max_bytes"));
  o.cache_ttl = Ms(cfg.GetDouble("server.cache.ttl_s"));
  for (const ModelEntryConfig& m : cfg.models()) {
    server::ModelEntryOptions e;
    e.alias = m.alias;
    e.file = m.file;
    for (const auto& v : m.versions) e.versions.push_back({v.name, v.file, v.weight});
    if (m.context) e.settings.n_ctx = static_cast<int>(*m.context);
    if (m.threads) e.settings.n_threads = static_cast<int>(*m.threads);
    if (m.parallel) e.settings.n_slots = static_cast<int>(*m.parallel);
    e.sampling.temperature = m.temperature;
    e.sampling.top_p = m.top_p;
    e.sampling.min_p = m.min_p;
    if (m.top_k) e.sampling.top_k = static_cast<int>(*m.top_k);
    e.fallback = m.fallback;
    o.model_entries.push_back(std::move(e));
  }
  for (const auto& m : args.models) {
    std::error_code ec;
    if (!std::filesystem::exists(m, ec)) return NotFound("model file " + m + " does not exist");
    o.models.emplace_back(ServedName(m), m);
  }
  return o;
}

}  // namespace

void RegisterServe(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand("serve", "Serve models over an OpenAI- and Ollama-compatible HTTP API");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--host", args->host, "Address to listen on (config server.host; default 127.0.0.1)");
  cmd->add_option("--port", args->port, "Port (config server.port; default 11435; 0 = any free port)");
  cmd->add_option("-m,--model", args->models, "A model file or HF folder to serve, under its file name (repeatable)")
      ->type_name("FILE");
  cmd->add_option("--models-dir", args->models_dir, "Directory of models to offer (config models_dir)")
      ->type_name("DIR");
  cmd->add_option("--api-key", args->api_key, "Require this key as 'Authorization: Bearer KEY' (config server.api_key)");
  cmd->callback([&ctx, args] {
    auto cfg = ctx.LoadConfigAndLogging();
    if (!cfg) return;
    auto options = BuildOptions(*cfg, *args);
    if (!options.ok()) {
      ctx.exit_code = ReportError(options.status());
      return;
    }
    // Block the shutdown signals before any thread starts, so that only sigwait below sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    const server::ServerOptions o = *options;
    server::Server srv(o);
    if (Status s = srv.Start(); !s.ok()) {
      ctx.exit_code = ReportError(s.AddContext("starting the server"));
      return;
    }
    const std::string scheme = o.http.tls.certificate_file.empty() ? "http" : "https";
    std::string host = o.http.host.find(':') != std::string::npos ? "[" + o.http.host + "]" : o.http.host;
    spdlog::info("deepvault {} listening on {}://{}:{} ({} models known)", DEEPVAULT_VERSION, scheme, host, srv.port(),
                 srv.registry().List().size());
    std::fprintf(stdout, "listening on %s://%s:%u\n", scheme.c_str(), host.c_str(), srv.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received {}, shutting down (grace {} ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 o.shutdown_grace.count());
    srv.Stop();
    ctx.exit_code = 0;
  });
}

}  // namespace dv::cli
