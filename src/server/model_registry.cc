#include "server/model_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dv::server {
namespace fs = std::filesystem;

namespace {

// "deepseek-r1-1.5b-q4_k_m.gguf" → "deepseek-r1-1.5b-q4_k_m"; a folder keeps its name.
std::string ServedName(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.empty()) name = path.parent_path().filename().string();
  if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
  return name;
}

bool LooksLikeModel(const fs::directory_entry& e) {
  std::error_code ec;
  if (e.is_regular_file(ec)) return e.path().extension() == ".gguf";
  if (e.is_directory(ec)) return fs::exists(e.path() / "config.json", ec);
  return false;
}

uint64_t PathBytes(const fs::path& p) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

}  // namespace

uint64_t EstimateModelBytes(const fs::path& path) { return PathBytes(path); }

ModelRegistry::ModelRegistry(RegistryOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {}

ModelRegistry::~ModelRegistry() {
  std::vector<std::shared_ptr<Scheduler>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, e] : entries_) {
      if (e.scheduler) all.push_back(std::move(e.scheduler));
    }
    for (auto& r : retired_) all.push_back(std::move(r.second));
    retired_.clear();
  }
  // Join every scheduler thread here, so that whoever drops the last reference later (possibly a
  // request callback) never destroys a scheduler from its own thread.
  for (auto& s : all) s->Shutdown();
  all.clear();
}

Status ModelRegistry::AddModel(const std::string& name, const fs::path& path, const ModelSettings& settings) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("model file " + path.string() + " does not exist");
  if (name.empty() || name.size() > 200) return InvalidArgument("model name must be 1..200 characters");
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(name);
  if (!inserted && it->second.explicit_entry) {
    return InvalidArgument("two models are named \"" + name + "\" (" + it->second.path.string() + " and " +
                           path.string() + ")");
  }
  it->second.path = path;
  it->second.explicit_entry = true;
  it->second.settings = settings;
  return Status::Ok();
}

std::string ModelRegistry::FileTag(const std::string& name) const {
  const fs::path path = PathOf(name);
  if (path.empty()) return "";
  std::error_code ec;
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  return path.string() + "|" + std::to_string(PathBytes(path)) + "|" + std::to_string(mtime);
}

fs::path ModelRegistry::PathOf(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? fs::path() : it->second.path;
}

Status ModelRegistry::Scan() {
  if (options_.models_dir.empty()) return Status::Ok();
  std::error_code ec;
  if (!fs::is_directory(options_.models_dir, ec)) return Status::Ok();  // nothing downloaded yet
  std::map<std::string, fs::path> found;
  for (const auto& e : fs::directory_iterator(options_.models_dir, ec)) {
    if (LooksLikeModel(e)) found.emplace(ServedName(e.path()), e.path());
  }
  if (ec) return Unavailable("cannot list " + options_.models_dir.string() + ": " + ec.message());
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.explicit_entry && !found.count(it->first) && !it->second.scheduler && !it->second.loading) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, path] : found) {
    auto [it, inserted] = entries_.try_emplace(name);
    if (inserted) it->second.path = path;
  }
  return Status::Ok();
}

std::vector<ModelListing> ModelRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<ModelListing> out;
  for (const auto& [name, e] : entries_) {
    ModelListing l;
    l.name = name;
    l.path = e.path;
    l.size_bytes = PathBytes(e.path);
    std::error_code ec;
    l.modified = fs::last_write_time(e.path, ec);
    l.loaded = e.scheduler != nullptr;
    l.generation = e.generation;
    l.scheduler = e.scheduler;
    const auto idle_left = options_.idle_unload.count() > 0
                               ? options_.idle_unload - (std::chrono::steady_clock::now() - e.last_used)
                               : std::chrono::steady_clock::duration(std::chrono::hours(24 * 365));
    l.expires_at = std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(idle_left);
    out.push_back(std::move(l));
  }
  return out;
}

bool ModelRegistry::Has(const std::string& name) const {
  std::lock_guard lock(mu_);
  return entries_.count(name) > 0;
}

Result<std::shared_ptr<Scheduler>> ModelRegistry::Acquire(const std::string& name) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string known;
    for (const auto& [n, e] : entries_) known += (known.empty() ? "" : ", ") + n;
    return NotFound("model \"" + name + "\" does not exist" +
                    (known.empty() ? std::string("; no models are configured") : "; available: " + known));
  }
  loaded_cv_.wait(lock, [&] { return !entries_[name].loading; });
  Entry& e = entries_[name];
  e.last_used = std::chrono::steady_clock::now();
  if (e.scheduler) return e.scheduler;
  return LoadLocked(lock, name);
}

Result<std::shared_ptr<Scheduler>> ModelRegistry::LoadLocked(std::unique_lock<std::mutex>& lock,
                                                             const std::string& name) {
  Entry& e = entries_[name];
  const fs::path path = e.path;
  LoadOptions load = options_.load;
  if (e.settings.n_ctx) load.n_ctx = *e.settings.n_ctx;
  if (e.settings.n_threads) load.n_threads = *e.settings.n_threads;
  if (e.settings.n_slots) load.n_slots = *e.settings.n_slots;
  const uint64_t bytes = PathBytes(path);
  DV_RETURN_IF_ERROR(MakeRoomLocked(bytes, name));
  e.loading = true;
  lock.unlock();
  spdlog::info("loading model {} from {}", name, path.string());
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = LoadedModel::Load(path, load);
  std::shared_ptr<Scheduler> scheduler;
  if (loaded.ok()) scheduler = std::make_shared<Scheduler>(std::move(loaded).value(), options_.scheduler);
  lock.lock();
  Entry& e2 = entries_[name];
  e2.loading = false;
  loaded_cv_.notify_all();
  if (!scheduler) {
    // A file that does not load is the server's problem, not the client's: 503, whatever the
    // reader's code (except a budget the model does not fit, which stays ResourceExhausted).
    Status error = std::move(loaded).error();
    if (error.code() != StatusCode::kResourceExhausted) {
      error = Unavailable("model \"" + name + "\" could not be loaded from " + path.string() + ": " + error.Describe());
    } else {
      error.AddContext("loading model \"" + name + "\" from " + path.string());
    }
    spdlog::warn("{}", error.Describe());
    return error;
  }
  if (e2.scheduler) RetireLocked(e2, name);
  e2.scheduler = scheduler;
  e2.bytes = bytes + scheduler->model().info().kv_bytes;
  e2.generation++;
  e2.last_used = std::chrono::steady_clock::now();
  ++loads_;
  const uint64_t generation = e2.generation;
  lock.unlock();
  spdlog::info("loaded model {} ({} {}, {} slots x {} tokens) in {:.2f} s", name, scheduler->model().info().arch,
               scheduler->model().info().quantization, scheduler->model().info().n_slots,
               scheduler->model().info().n_ctx,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  RegisterGauges(name, scheduler, generation);
  lock.lock();
  return scheduler;
}

void ModelRegistry::RegisterGauges(const std::string& name, const std::shared_ptr<Scheduler>& s, uint64_t generation) {
  if (!metrics_) return;
  const std::string tag = name + "#" + std::to_string(generation);
  std::weak_ptr<Scheduler> weak = s;
  auto read = [weak](auto field) {
    return [weak, field]() -> double {
      auto sp = weak.lock();
      return sp ? static_cast<double>(field(sp->stats())) : 0.0;
    };
  };
  const Labels labels = {{"model", name}};
  metrics_->Gauge("deepvault_queue_depth", labels, read([](const SchedulerStats& st) { return st.queued; }), tag);
  metrics_->Gauge("deepvault_active_sequences", labels, read([](const SchedulerStats& st) { return st.active; }), tag);
  metrics_->Gauge("deepvault_kv_cache_used_positions", labels,
                  read([](const SchedulerStats& st) { return st.kv_positions_used; }), tag);
  metrics_->Gauge("deepvault_kv_cache_total_positions", labels,
                  read([](const SchedulerStats& st) { return st.kv_positions_total; }), tag);
  metrics_->Gauge("deepvault_forward_passes_total", labels,
                  read([](const SchedulerStats& st) { return st.forward_passes; }), tag);
  metrics_->Gauge("deepvault_prefix_cache_tokens_total", labels,
                  read([](const SchedulerStats& st) { return st.prompt_tokens_cached; }), tag);
}

Status ModelRegistry::MakeRoomLocked(uint64_t bytes, const std::string& for_name) {
  uint64_t used = 0;
  for (const auto& [n, e] : entries_) used += e.scheduler ? e.bytes : 0;
  if (bytes > options_.memory_budget_bytes) {
    return ResourceExhausted("model \"" + for_name + "\" needs " + std::to_string(bytes >> 20) +
                             " MiB, more than the whole memory budget of " +
                             std::to_string(options_.memory_budget_bytes >> 20) + " MiB");
  }
  while (used + bytes > options_.memory_budget_bytes) {
    // Least recently used loaded model that is idle.
    Entry* victim = nullptr;
    std::string victim_name;
    for (auto& [n, e] : entries_) {
      if (!e.scheduler || n == for_name) continue;
      const auto st = e.scheduler->stats();
      if (st.active > 0 || st.queued > 0) continue;
      if (!victim || e.last_used < victim->last_used) {
        victim = &e;
        victim_name = n;
      }
    }
    if (!victim) {
      return ResourceExhausted("not enough memory budget to load \"" + for_name + "\": the loaded models are busy");
    }
    spdlog::info("unloading model {} to make room for {}", victim_name, for_name);
    used -= victim->bytes;
    RetireLocked(*victim, victim_name);
  }
  return Status::Ok();
}

void ModelRegistry::RetireLocked(Entry& e, const std::string& name) {
  if (!e.scheduler) return;
  retired_.emplace_back(name + "#" + std::to_string(e.generation), std::move(e.scheduler));
  e.scheduler.reset();
  e.bytes = 0;
}

Status ModelRegistry::Reload(const std::string& name) {
  std::unique_lock lock(mu_);
  if (!entries_.count(name)) return NotFound("model \"" + name + "\" does not exist");
  loaded_cv_.wait(lock, [&] { return !entries_[name].loading; });
  auto r = LoadLocked(lock, name);
  return r.ok() ? Status::Ok() : r.status();
}

Status ModelRegistry::Unload(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.scheduler) return NotFound("model \"" + name + "\" is not loaded");
  RetireLocked(it->second, name);
  return Status::Ok();
}

void ModelRegistry::Reap() {
  std::vector<std::pair<std::string, std::shared_ptr<Scheduler>>> dead;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (options_.idle_unload.count() > 0) {
      for (auto& [name, e] : entries_) {
        if (!e.scheduler || now - e.last_used < options_.idle_unload) continue;
        const auto st = e.scheduler->stats();
        if (st.active == 0 && st.queued == 0) {
          spdlog::info("unloading model {} after {} s idle", name, options_.idle_unload.count());
          RetireLocked(e, name);
        }
      }
    }
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (it->second.use_count() == 1) {
        dead.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [tag, s] : dead) {
    if (metrics_) metrics_->RemoveGauges(tag);
    s.reset();  // joins the scheduler thread, here on the reaper's thread
  }
}

int ModelRegistry::loaded_count() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [name, e] : entries_) n += e.scheduler ? 1 : 0;
  return n;
}

uint64_t ModelRegistry::loaded_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [name, e] : entries_) n += e.scheduler ? e.bytes : 0;
  return n;
}

uint64_t ModelRegistry::loads() const {
  std::lock_guard lock(mu_);
  return loads_;
}

}  // namespace dv::server
