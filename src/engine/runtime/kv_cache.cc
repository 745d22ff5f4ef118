#include "engine/runtime/kv_cache.h"

#include <cstring>

#include "engine/quant/fp16.h"

namespace dv::runtime {

KvCache::KvCache(int n_layer, int n_slots, int n_ctx, int kv_dim, KvType type)
    : n_layer_(n_layer),
      n_slots_(n_slots),
      n_ctx_(n_ctx),
      kv_dim_(kv_dim),
      type_(type),
      elem_(type == KvType::kF32 ? sizeof(float) : sizeof(uint16_t)) {
  const size_t n = static_cast<size_t>(n_layer) * n_slots * n_ctx * kv_dim * elem_;
  k_.assign(n, 0);
  v_.assign(n, 0);
}

void KvCache::Store(uint8_t* dst, const float* src) const {
  if (type_ == KvType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(kv_dim_) * sizeof(float));
    return;
  }
  auto* h = reinterpret_cast<uint16_t*>(dst);
  for (int i = 0; i < kv_dim_; ++i) h[i] = quant::FloatToFp16(src[i]);
}

}  // namespace dv::runtime
