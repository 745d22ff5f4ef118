// Key/value cache: for every sequence slot, layer and position, the rotated key and the value of
// each KV head, stored as fp16.
//
// Layout: [slot][layer][position][kv_dim] for K and the same for V, allocated once for
// n_slots × n_ctx positions (the requested context, not the model's training context).
//
// Thread safety: none; the forward pass writes disjoint positions and reads under its own barriers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dv::runtime {

class KvCache {
 public:
  KvCache(int n_layer, int n_slots, int n_ctx, int kv_dim);

  int n_layer() const { return n_layer_; }
  int n_slots() const { return n_slots_; }
  int n_ctx() const { return n_ctx_; }
  int kv_dim() const { return kv_dim_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(uint16_t); }

  // kv_dim fp16 values. REQUIRES: 0 <= layer < n_layer, 0 <= slot < n_slots, 0 <= pos < n_ctx.
  uint16_t* K(int layer, int slot, int pos) { return k_.data() + Offset(layer, slot, pos); }
  uint16_t* V(int layer, int slot, int pos) { return v_.data() + Offset(layer, slot, pos); }
  const uint16_t* K(int layer, int slot, int pos) const { return k_.data() + Offset(layer, slot, pos); }
  const uint16_t* V(int layer, int slot, int pos) const { return v_.data() + Offset(layer, slot, pos); }

 private:
  size_t Offset(int layer, int slot, int pos) const {
    return ((static_cast<size_t>(slot) * n_layer_ + layer) * n_ctx_ + pos) * kv_dim_;
  }
  int n_layer_, n_slots_, n_ctx_, kv_dim_;
  std::vector<uint16_t> k_, v_;
};

}  // namespace dv::runtime
