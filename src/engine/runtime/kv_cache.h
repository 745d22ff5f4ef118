// Key/value cache: for every sequence slot, layer and position, the rotated key and the value of
// each KV head, stored as fp16 (default) or fp32 (reference precision, twice the memory).
//
// Layout: [slot][layer][position][kv_dim] for K and the same for V, allocated once for
// n_slots × n_ctx positions (the requested context, not the model's training context).
//
// Thread safety: none; the forward pass writes disjoint positions before it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dv::runtime {

enum class KvType { kF16, kF32 };

class KvCache {
 public:
  KvCache(int n_layer, int n_slots, int n_ctx, int kv_dim, KvType type = KvType::kF16);

  int n_layer() const { return n_layer_; }
  int n_slots() const { return n_slots_; }
  int n_ctx() const { return n_ctx_; }
  int kv_dim() const { return kv_dim_; }
  KvType type() const { return type_; }
  size_t bytes() const { return k_.size() + v_.size(); }
  // Bytes of one position (K and V, all layers) of one slot.
  size_t bytes_per_position() const { return 2 * static_cast<size_t>(n_layer_) * kv_dim_ * elem_; }

  // kv_dim values of type(). REQUIRES: 0 <= layer < n_layer, 0 <= slot < n_slots, 0 <= pos < n_ctx.
  uint8_t* K(int layer, int slot, int pos) { return k_.data() + Offset(layer, slot, pos); }
  uint8_t* V(int layer, int slot, int pos) { return v_.data() + Offset(layer, slot, pos); }
  const uint8_t* K(int layer, int slot, int pos) const { return k_.data() + Offset(layer, slot, pos); }
  const uint8_t* V(int layer, int slot, int pos) const { return v_.data() + Offset(layer, slot, pos); }

  // Stores kv_dim floats at K or V (converting to type()).
  void Store(uint8_t* dst, const float* src) const;

 private:
  size_t Offset(int layer, int slot, int pos) const {
    return (((static_cast<size_t>(slot) * n_layer_ + layer) * n_ctx_ + pos) * kv_dim_) * elem_;
  }
  int n_layer_, n_slots_, n_ctx_, kv_dim_;
  KvType type_;
  size_t elem_;
  std::vector<uint8_t> k_, v_;
};

}  // namespace dv::runtime
