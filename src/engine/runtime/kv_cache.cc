#include "engine/runtime/kv_cache.h"

namespace dv::runtime {

KvCache::KvCache(int n_layer, int n_slots, int n_ctx, int kv_dim)
    : n_layer_(n_layer), n_slots_(n_slots), n_ctx_(n_ctx), kv_dim_(kv_dim) {
  const size_t n = static_cast<size_t>(n_layer) * n_slots * n_ctx * kv_dim;
  k_.assign(n, 0);
  v_.assign(n, 0);
}

}  // namespace dv::runtime
