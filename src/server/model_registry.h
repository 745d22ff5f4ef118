// The models a server knows, and which of them are loaded.
//
// Models come from explicit entries (`-m FILE`, served under the file name without .gguf) and
// from scanning the models directory (every *.gguf file, and every folder with config.json).
// A model is loaded on first use and unloaded after `idle_unload` without requests. Loaded
// models together stay within `memory_budget_bytes` (file bytes + KV cache): loading one more
// first unloads least-recently-used idle models, and fails with ResourceExhausted when that is
// not enough.
//
// Hot reload: Reload(name) loads the file again into a new Scheduler and switches new requests to
// it; requests in flight keep the old one (they hold a shared_ptr) until they finish.
// Schedulers are only ever destroyed by the registry (Reap or the destructor), never on a
// scheduler thread, once nobody else holds them.
//
// Thread safety: every method may be called from any thread. Acquire may block while loading.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "server/metrics.h"
#include "server/scheduler.h"

namespace dv::server {

struct RegistryOptions {
  std::filesystem::path models_dir;  // empty: no scanning
  LoadOptions load;
  SchedulerOptions scheduler;
  std::chrono::seconds idle_unload{300};  // 0 = never
  uint64_t memory_budget_bytes = uint64_t{32} << 30;
};

// Per-model overrides of RegistryOptions::load (config `[[models]]` entries).
struct ModelSettings {
  std::optional<int> n_ctx;
  std::optional<int> n_threads;
  std::optional<int> n_slots;
};

struct ModelListing {
  std::string name;
  std::filesystem::path path;
  uint64_t size_bytes = 0;
  std::filesystem::file_time_type modified;
  bool loaded = false;
  uint64_t generation = 0;        // increments on every (re)load
  std::shared_ptr<Scheduler> scheduler;  // when loaded
  std::chrono::system_clock::time_point expires_at;  // loaded: when idle unload happens
};

class ModelRegistry {
 public:
  ModelRegistry(RegistryOptions options, Metrics* metrics);
  ~ModelRegistry();

  // Adds an explicit model. InvalidArgument when the name is taken or the file does not exist.
  Status AddModel(const std::string& name, const std::filesystem::path& path, const ModelSettings& settings = {});
  // Re-reads the models directory (explicit entries stay).
  Status Scan();

  std::vector<ModelListing> List() const;
  bool Has(const std::string& name) const;

  // The file of `name` as it is now on disk: "path|size|mtime"; "" for unknown names. Changes when
  // the file is replaced (hot reload), so it can key cached answers of that file.
  std::string FileTag(const std::string& name) const;
  // The model file (or folder) registered under `name`; empty for unknown names.
  std::filesystem::path PathOf(const std::string& name) const;

  // The running scheduler of `name`, loading it if needed. NotFound for unknown names (the
  // message lists the known ones); ResourceExhausted when the memory budget cannot fit it;
  // Unavailable (HTTP 503) when the file fails to load.
  Result<std::shared_ptr<Scheduler>> Acquire(const std::string& name);
  // Loads `name` again and switches new requests to it.
  Status Reload(const std::string& name);
  // Unloads `name` now (running requests finish first). NotFound when not loaded.
  Status Unload(const std::string& name);

  // Unloads models idle past their time and destroys retired schedulers nobody uses.
  void Reap();

  int loaded_count() const;
  uint64_t loaded_bytes() const;
  // Number of model loads (successful) since start.
  uint64_t loads() const;

 private:
  struct Entry {
    std::filesystem::path path;
    bool explicit_entry = false;
    ModelSettings settings;
    std::shared_ptr<Scheduler> scheduler;
    bool loading = false;
    uint64_t generation = 0;
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point last_used;
  };
  Result<std::shared_ptr<Scheduler>> LoadLocked(std::unique_lock<std::mutex>& lock, const std::string& name);
  Status MakeRoomLocked(uint64_t bytes, const std::string& for_name);
  void RetireLocked(Entry& e, const std::string& name);
  void RegisterGauges(const std::string& name, const std::shared_ptr<Scheduler>& s, uint64_t generation);

  RegistryOptions options_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable loaded_cv_;
  std::map<std::string, Entry> entries_;
  std::vector<std::pair<std::string, std::shared_ptr<Scheduler>>> retired_;
  uint64_t loads_ = 0;
};

// Estimated memory of serving `path` with `options`: file bytes plus the KV cache.
uint64_t EstimateModelBytes(const std::filesystem::path& path);

}  // namespace dv::server
