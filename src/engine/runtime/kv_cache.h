// Key/value cache: for every sequence slot, layer and position, the rotated key and the value of
// each KV head, stored as fp16 (default), Q8_0 (34 bytes per 32 values: 53% of fp16, blocks of 32
// within each head) or fp32 (reference precision, twice the memory of fp16).
//
// Layout: [slot][layer][position][kv_dim] for K and the same for V, allocated once for
// n_slots × n_ctx positions (the requested context, not the model's training context). One
// position's row is row_bytes() bytes; KV head h starts at h * cpu::KvRowBytes(type, head_dim).
//
// Thread safety: none; the forward pass writes disjoint positions before it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/quant/tensor_type.h"

namespace dv::runtime {

enum class KvType { kF16, kF32, kQ8_0 };

// "f16", "f32", "q8_0".
std::string_view KvTypeName(KvType type);
// Parses a KvTypeName; InvalidArgument listing the accepted names otherwise.
Result<KvType> ParseKvType(std::string_view name);
quant::TensorType KvTensorType(KvType type);
// InvalidArgument when `type` cannot hold heads of head_dim values (Q8_0 needs a multiple of 32).
Status CheckKvType(KvType type, int head_dim);

class KvCache {
 public:
  // REQUIRES: CheckKvType(type, head_dim) is OK for the model's head_dim, which divides kv_dim.
  KvCache(int n_layer, int n_slots, int n_ctx, int kv_dim, KvType type = KvType::kF16);

  int n_layer() const { return n_layer_; }
  int n_slots() const { return n_slots_; }
  int n_ctx() const { return n_ctx_; }
  int kv_dim() const { return kv_dim_; }
  KvType type() const { return type_; }
  size_t bytes() const { return k_.size() + v_.size(); }
  // Bytes of one position's K (or V) row of one layer: kv_dim values of type().
  size_t row_bytes() const { return row_bytes_; }
  // Bytes of one position (K and V, all layers) of one slot.
  size_t bytes_per_position() const { return 2 * static_cast<size_t>(n_layer_) * row_bytes_; }

  // One row. REQUIRES: 0 <= layer < n_layer, 0 <= slot < n_slots, 0 <= pos < n_ctx; positions of
  // one (layer, slot) are row_bytes() apart.
  uint8_t* K(int layer, int slot, int pos) { return k_.data() + Offset(layer, slot, pos); }
  uint8_t* V(int layer, int slot, int pos) { return v_.data() + Offset(layer, slot, pos); }
  const uint8_t* K(int layer, int slot, int pos) const { return k_.data() + Offset(layer, slot, pos); }
  const uint8_t* V(int layer, int slot, int pos) const { return v_.data() + Offset(layer, slot, pos); }

  // Stores kv_dim floats at K or V (converting to type()).
  void Store(uint8_t* dst, const float* src) const;

 private:
  size_t Offset(int layer, int slot, int pos) const {
    return ((static_cast<size_t>(slot) * n_layer_ + layer) * n_ctx_ + pos) * row_bytes_;
  }
  int n_layer_, n_slots_, n_ctx_, kv_dim_;
  KvType type_;
  size_t row_bytes_;
  std::vector<uint8_t> k_, v_;
};

}  // namespace dv::runtime
