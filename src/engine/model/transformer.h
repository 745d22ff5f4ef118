// The decoder forward pass shared by llama, qwen2 and qwen3:
//   x = embed(token)
//   per layer: x += Wo · Attn(RoPE(norm_q(Wq·h + bq)), RoPE(norm_k(Wk·h + bk)), Wv·h + bv),  h = RMSNorm(x)
//              x += Wdown · (SiLU(Wgate·h) ⊙ Wup·h),                                         h = RMSNorm(x)
//   logits = Woutput · RMSNorm(x)
// Attention is grouped-query (n_head / n_head_kv query heads share a KV head), causal, over the
// token's own sequence slot in the KV cache.
//
// A batch holds tokens of any sequences, each with its slot and position; all keys/values of the
// batch are written to the cache before attention, so several tokens of one sequence (prefill)
// see each other causally.
//
// Thread safety: one Forward at a time per Transformer (it owns the worker pool and scratch).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "deepvault/status.h"
#include "engine/cpu/worker_pool.h"
#include "engine/model/config.h"
#include "engine/model/weights.h"
#include "engine/runtime/kv_cache.h"

namespace dv::model {

struct BatchToken {
  int32_t token = 0;
  int32_t slot = 0;  // KV cache sequence slot
  int32_t pos = 0;   // position in its sequence
  bool want_output = false;  // produce logits / hidden state for this token
};

class Transformer {
 public:
  // REQUIRES: config and weights outlive the Transformer.
  Transformer(const ModelConfig& config, const ModelWeights& weights, int n_threads);

  // For each token with want_output, in batch order, appends n_vocab logits to *logits (if not
  // null) and n_embd values of the final normalized hidden state to *hidden (if not null).
  // Fails with InvalidArgument for a token id outside the vocabulary or a slot/position outside the
  // cache; nothing is written to the cache then.
  Status Forward(std::span<const BatchToken> batch, runtime::KvCache& cache, std::vector<float>* logits,
                 std::vector<float>* hidden);

  int n_threads() const { return pool_.size(); }

 private:
  void Attention(int layer, std::span<const BatchToken> batch, const runtime::KvCache& cache);
  // cos/sin (times the rope magnitude) of every rotated pair at each batch token's position,
  // computed once per forward pass: rope_cs_/rope_sn_ [n_tokens, n_rot / 2].
  void RopeTables(std::span<const BatchToken> batch);
  // Rotates the n_heads heads of x by batch token t's angles.
  void Rope(float* x, int n_heads, size_t t) const;
  // gate_[i] = silu(gate_[i]) * up_[i] for i < count, threaded for prefill.
  void SwiGlu(int64_t count);

  const ModelConfig& c_;
  const ModelWeights& w_;
  cpu::WorkerPool pool_;
  std::vector<double> inv_freq_;
  float rope_magnitude_;
  // Scratch, sized per batch: x [n, E], h [n, E], q [n, Q], k/v [n, KV], attn [n, Q], g/u [n, F].
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_, tmp_;
  std::vector<float> rope_cs_, rope_sn_;
  std::vector<uint8_t> act_scratch_;
};

}  // namespace dv::model
