#include "server/response_cache.h"

#include <cmath>

namespace dv::server {
namespace {

constexpr uint64_t kEntryOverhead = 128;  // list node, index slot, bookkeeping
constexpr uint64_t kChunkOverhead = 32;   // one std::string per chunk

Json Canonical(const Json& v) {
  if (v.is_object()) {
    Json out = Json::object();  // nlohmann::json keeps object keys sorted
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = Canonical(it.value());
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& e : v) out.push_back(Canonical(e));
    return out;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return Json(static_cast<int64_t>(d));
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
    return Json(static_cast<int64_t>(v.get<uint64_t>()));
  }
  return v;
}

}  // namespace

uint64_t CachedResponse::Bytes() const {
  uint64_t n = content_type.size() + body.size();
  for (const auto& h : headers) n += h.name.size() + h.value.size() + kChunkOverhead;
  for (const auto& c : chunks) n += c.size() + kChunkOverhead;
  return n;
}

ResponseCache::ResponseCache(uint64_t max_bytes, std::chrono::milliseconds ttl, std::function<Clock::time_point()> now)
    : max_bytes_(max_bytes), ttl_(ttl), now_(now ? std::move(now) : [] { return Clock::now(); }) {}

void ResponseCache::EraseLocked(List::iterator it) {
  stats_.bytes -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
  stats_.entries = lru_.size();
}

std::shared_ptr<const CachedResponse> ResponseCache::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return nullptr;
  auto it = found->second;
  if (now_() >= it->expires) {
    ++stats_.expired;
    EraseLocked(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return it->response;
}

bool ResponseCache::Put(const std::string& key, CachedResponse response) {
  const uint64_t bytes = key.size() + response.Bytes() + kEntryOverhead;
  if (bytes > max_entry_bytes()) return false;
  std::lock_guard lock(mu_);
  if (auto found = index_.find(key); found != index_.end()) EraseLocked(found->second);
  const auto now = now_();
  // Expired entries go first, then the least recently used.
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (now >= it->expires) {
      ++stats_.expired;
      EraseLocked(it);
    }
    it = next;
  }
  while (!lru_.empty() && stats_.bytes + bytes > max_bytes_) {
    ++stats_.evicted_lru;
    EraseLocked(std::prev(lru_.end()));
  }
  lru_.push_front(Entry{key, std::make_shared<const CachedResponse>(std::move(response)), bytes, now + ttl_});
  index_[key] = lru_.begin();
  stats_.bytes += bytes;
  stats_.entries = lru_.size();
  return true;
}

ResponseCacheStats ResponseCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::string CanonicalRequestKey(const Json& body, const std::string& served_model) {
  Json j = Canonical(body);
  j["model"] = served_model;
  j.erase("user");
  j.erase("keep_alive");
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace dv::server
