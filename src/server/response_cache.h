// Cache of complete answers to deterministic generation requests (temperature 0 or a fixed seed).
//
// Key: the served model's file identity (ModelRegistry::FileTag, so a hot-reloaded file never
// answers from the old one's entries) + the route + the canonical request (CanonicalRequestKey).
// Value: the response exactly as it was sent: one body, or the chunks of a stream, replayed as a
// stream. Entries expire `ttl` after they were stored; the least recently used are evicted when
// the entries' bytes (keys + bodies + a fixed per-chunk overhead) would exceed `max_bytes`. An
// answer larger than max_bytes / 8 is not stored (one answer must not flush the cache).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/http_server.h"
#include "server/json_input.h"

namespace dv::server {

struct CachedResponse {
  int status = 200;
  std::string content_type;
  std::vector<HttpHeader> headers;
  bool stream = false;
  std::string body;                 // !stream
  std::vector<std::string> chunks;  // stream: the chunks in order
  uint64_t Bytes() const;
};

struct ResponseCacheStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t evicted_lru = 0;
  uint64_t expired = 0;
};

class ResponseCache {
 public:
  using Clock = std::chrono::steady_clock;
  // `now` is the clock (tests pass their own); defaults to Clock::now.
  ResponseCache(uint64_t max_bytes, std::chrono::milliseconds ttl, std::function<Clock::time_point()> now = {});

  // The entry for `key` if present and fresh (it becomes most recently used); nullptr otherwise.
  std::shared_ptr<const CachedResponse> Get(const std::string& key);
  // Stores (or replaces) `key`, evicting least recently used entries to stay within the budget.
  // Returns false when the answer is too large to be stored.
  bool Put(const std::string& key, CachedResponse response);

  // The largest answer Put stores.
  uint64_t max_entry_bytes() const { return max_bytes_ / 8; }
  ResponseCacheStats stats() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CachedResponse> response;
    uint64_t bytes = 0;
    Clock::time_point expires;
  };
  using List = std::list<Entry>;  // most recently used first
  void EraseLocked(List::iterator it);

  const uint64_t max_bytes_;
  const std::chrono::milliseconds ttl_;
  std::function<Clock::time_point()> now_;

  mutable std::mutex mu_;
  List lru_;
  std::unordered_map<std::string, List::iterator> index_;
  ResponseCacheStats stats_;
};

// The canonical text of a request body for cache keys: `model` replaced by the served model,
// fields that do not affect the answer removed (user, keep_alive), object keys sorted, and numbers
// with an integral value written as integers (0.0 and 0 are the same temperature).
std::string CanonicalRequestKey(const Json& body, const std::string& served_model);

}  // namespace dv::server
