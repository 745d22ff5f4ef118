#include "engine/runtime/kv_cache.h"

#include <string>

#include "engine/cpu/kv_attention.h"

namespace dv::runtime {

std::string_view KvTypeName(KvType type) {
  switch (type) {
    case KvType::kF16: return "f16";
    case KvType::kF32: return "f32";
    case KvType::kQ8_0: return "q8_0";
  }
  return "?";
}

Result<KvType> ParseKvType(std::string_view name) {
  for (KvType t : {KvType::kF16, KvType::kF32, KvType::kQ8_0}) {
    if (name == KvTypeName(t)) return t;
  }
  return InvalidArgument("unknown KV cache type \"" + std::string(name) + "\" (expected f16, q8_0 or f32)");
}

quant::TensorType KvTensorType(KvType type) {
  switch (type) {
    case KvType::kF32: return quant::TensorType::kF32;
    case KvType::kQ8_0: return quant::TensorType::kQ8_0;
    default: return quant::TensorType::kF16;
  }
}

Status CheckKvType(KvType type, int head_dim) {
  if (cpu::IsKvFormatSupported(KvTensorType(type), head_dim)) return Status::Ok();
  return InvalidArgument("KV cache type " + std::string(KvTypeName(type)) + " needs a head dimension divisible by 32; " +
                         "this model's is " + std::to_string(head_dim) + " (use f16)");
}

KvCache::KvCache(int n_layer, int n_slots, int n_ctx, int kv_dim, KvType type)
    : n_layer_(n_layer),
      n_slots_(n_slots),
      n_ctx_(n_ctx),
      kv_dim_(kv_dim),
      type_(type),
      row_bytes_(cpu::KvRowBytes(KvTensorType(type), kv_dim)) {
  const size_t n = static_cast<size_t>(n_layer) * n_slots * n_ctx * row_bytes_;
  k_.assign(n, 0);
  v_.assign(n, 0);
}

void KvCache::Store(uint8_t* dst, const float* src) const { cpu::StoreKvRow(KvTensorType(type_), src, kv_dim_, dst); }

}  // namespace dv::runtime
