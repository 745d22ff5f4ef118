#include "engine/model/transformer.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "engine/cpu/kv_attention.h"
#include "engine/cpu/swiglu.h"
#include "engine/cpu/vec_dot.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/fp16.h"

namespace dv::model {
namespace {

// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]; as llama.cpp: the sum in double, the mean,
// eps and scale in float (the scale feeds 8-bit activation rounding: it must match to the bit).
void RmsNorm(const float* x, const float* weight, int n, double eps, float* out) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + static_cast<float>(eps));
  for (int i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void AddBias(float* x, const std::vector<float>& bias, int64_t n_tokens) {
  if (bias.empty()) return;
  const size_t n = bias.size();
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (size_t i = 0; i < n; ++i) x[t * n + i] += bias[i];
  }
}

}  // namespace

Transformer::Transformer(const ModelConfig& config, const ModelWeights& weights, int n_threads)
    : c_(config),
      w_(weights),
      pool_(n_threads),
      inv_freq_(config.rope.InverseFrequencies()),
      rope_magnitude_(static_cast<float>(config.rope.Magnitude())) {}

void Transformer::RopeTables(std::span<const BatchToken> batch) {
  const int half = c_.rope.n_rot / 2;
  rope_cs_.resize(batch.size() * half);
  rope_sn_.resize(batch.size() * half);
  for (size_t t = 0; t < batch.size(); ++t) {
    for (int i = 0; i < half; ++i) {
      const double angle = batch[t].pos * inv_freq_[i];
      rope_cs_[t * half + i] = static_cast<float>(std::cos(angle)) * rope_magnitude_;
      rope_sn_[t * half + i] = static_cast<float>(std::sin(angle)) * rope_magnitude_;
    }
  }
}

void Transformer::Rope(float* x, int n_heads, size_t t) const {
  const int half = c_.rope.n_rot / 2;
  const float* cs = rope_cs_.data() + t * half;
  const float* sn = rope_sn_.data() + t * half;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<size_t>(h) * c_.head_dim;
    for (int i = 0; i < half; ++i) {
      float* a = c_.rope.style == RopeStyle::kNormal ? &v[2 * i] : &v[i];
      float* b = c_.rope.style == RopeStyle::kNormal ? &v[2 * i + 1] : &v[i + half];
      const float x0 = *a, x1 = *b;
      *a = x0 * cs[i] - x1 * sn[i];
      *b = x0 * sn[i] + x1 * cs[i];
    }
  }
}

void Transformer::Attention(int layer, std::span<const BatchToken> batch, const runtime::KvCache& cache) {
  // Work item: up to kRowsPerItem / heads tokens of one slot (consecutive in the batch) × one KV
  // head × `heads` of its query heads; AttendHeads loads each key/value row once per item.
  constexpr int kRowsPerItem = 48;
  const int n_tok = static_cast<int>(batch.size());
  const int hd = c_.head_dim, group = c_.n_head / c_.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const quant::TensorType kv_type = runtime::KvTensorType(cache.type());
  const size_t head_bytes = cpu::KvRowBytes(kv_type, hd);
  std::vector<int> n_pos(n_tok);
  for (int t = 0; t < n_tok; ++t) n_pos[t] = batch[t].pos + 1;
  // Few tokens (decode) give few items: split the query heads of a group so every thread has work.
  int heads = group;
  const auto items_for = [&](int h, int64_t runs) { return runs * c_.n_head_kv * (group / h); };
  while (heads > 1 && items_for(heads, n_tok) < pool_.size()) {
    do --heads; while (group % heads != 0);
  }
  const int max_run = std::max(1, kRowsPerItem / heads);
  std::vector<std::pair<int, int>> runs;  // [first token, token count]
  for (int t = 0; t < n_tok; ++t) {
    if (runs.empty() || batch[t].slot != batch[runs.back().first].slot || runs.back().second == max_run) {
      runs.emplace_back(t, 0);
    }
    ++runs.back().second;
  }
  const int per_run = c_.n_head_kv * (group / heads);
  const int64_t items = items_for(heads, static_cast<int64_t>(runs.size()));
  std::atomic<int64_t> next{0};
  auto work = [&](int, int) {
    std::vector<float> scratch;
    for (int64_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      // Later runs of a prefill attend more positions: hand them out first.
      const auto [first, count] = runs[runs.size() - 1 - static_cast<size_t>(item / per_run)];
      const int kv_head = static_cast<int>(item % per_run) / (group / heads);
      const int head0 = kv_head * group + static_cast<int>(item % per_run) % (group / heads) * heads;
      const size_t q_offset = static_cast<size_t>(first) * c_.q_dim() + static_cast<size_t>(head0) * hd;
      const cpu::AttentionRows rows{q_.data() + q_offset, attn_.data() + q_offset, static_cast<size_t>(c_.q_dim()),
                                    static_cast<size_t>(c_.q_dim()), count, heads, n_pos.data() + first};
      const size_t kv_offset = static_cast<size_t>(kv_head) * head_bytes;
      const int slot = batch[first].slot;
      cpu::AttendHeads(kv_type, hd, rows, cache.K(layer, slot, 0) + kv_offset, cache.V(layer, slot, 0) + kv_offset,
                       cache.row_bytes(), scale, scratch);
    }
  };
  int64_t work_size = 0;  // multiply-adds
  for (const BatchToken& bt : batch) work_size += static_cast<int64_t>(bt.pos + 1) * c_.q_dim() * 2;
  if (work_size < (1 << 16)) {
    work(0, 1);
  } else {
    pool_.Run(work);
  }
}

void Transformer::SwiGlu(int64_t count) {
  auto run = [&](int thread, int n_threads) {
    int64_t i0, i1;
    cpu::WorkerPool::Split(count, thread, n_threads, 64, &i0, &i1);
    cpu::SwiGlu(gate_.data() + i0, up_.data() + i0, i1 - i0, gate_.data() + i0);
  };
  if (count >= (1 << 16)) {
    pool_.Run(run);
  } else {
    run(0, 1);
  }
}

Status Transformer::Forward(std::span<const BatchToken> batch, runtime::KvCache& cache, std::vector<float>* logits,
                            std::vector<float>* hidden) {
  const int64_t n = static_cast<int64_t>(batch.size());
  if (n == 0) return Status::Ok();
  for (const BatchToken& bt : batch) {
    if (bt.token < 0 || bt.token >= c_.n_vocab) {
      return InvalidArgument("token id " + std::to_string(bt.token) + " is outside the vocabulary [0, " +
                             std::to_string(c_.n_vocab) + ")");
    }
    if (bt.slot < 0 || bt.slot >= cache.n_slots() || bt.pos < 0 || bt.pos >= cache.n_ctx()) {
      return InvalidArgument("batch token at slot " + std::to_string(bt.slot) + " position " + std::to_string(bt.pos) +
                             " is outside the KV cache (" + std::to_string(cache.n_slots()) + " slots of " +
                             std::to_string(cache.n_ctx()) + " positions)");
    }
  }
  const int E = c_.n_embd, Q = c_.q_dim(), KV = c_.kv_dim(), F = c_.n_ff;
  x_.resize(n * E);
  h_.resize(n * E);
  q_.resize(n * Q);
  k_.resize(n * KV);
  v_.resize(n * KV);
  attn_.resize(n * Q);
  gate_.resize(n * F);
  up_.resize(n * F);
  tmp_.resize(n * E);

  const TensorRef& embd = *w_.token_embd;
  const size_t embd_row = embd.n_bytes / embd.ne[1];
  for (int64_t t = 0; t < n; ++t) {
    DV_RETURN_IF_ERROR(quant::DequantizeRow(embd.type, {embd.data + batch[t].token * embd_row, embd_row},
                                            {x_.data() + t * E, static_cast<size_t>(E)}));
  }

  RopeTables(batch);
  for (int l = 0; l < c_.n_layer; ++l) {
    const LayerWeights& L = w_.layers[l];
    for (int64_t t = 0; t < n; ++t) RmsNorm(&x_[t * E], L.attn_norm.data(), E, c_.rms_eps, &h_[t * E]);
    const cpu::MatMulTarget qkv[] = {{&L.wq, q_.data()}, {&L.wk, k_.data()}, {&L.wv, v_.data()}};
    cpu::MatMulShared(qkv, h_.data(), n, pool_, act_scratch_);
    AddBias(q_.data(), L.bq, n);
    AddBias(k_.data(), L.bk, n);
    AddBias(v_.data(), L.bv, n);
    for (int64_t t = 0; t < n; ++t) {
      float* q = &q_[t * Q];
      float* k = &k_[t * KV];
      if (c_.qk_norm) {
        for (int h = 0; h < c_.n_head; ++h) RmsNorm(q + h * c_.head_dim, L.q_norm.data(), c_.head_dim, c_.rms_eps, q + h * c_.head_dim);
        for (int h = 0; h < c_.n_head_kv; ++h) RmsNorm(k + h * c_.head_dim, L.k_norm.data(), c_.head_dim, c_.rms_eps, k + h * c_.head_dim);
      }
      Rope(q, c_.n_head, static_cast<size_t>(t));
      Rope(k, c_.n_head_kv, static_cast<size_t>(t));
      cache.Store(cache.K(l, batch[t].slot, batch[t].pos), k);
      cache.Store(cache.V(l, batch[t].slot, batch[t].pos), &v_[t * KV]);
    }
    Attention(l, batch, cache);
    cpu::MatMul(L.wo, attn_.data(), n, tmp_.data(), pool_, act_scratch_);
    for (int64_t i = 0; i < n * E; ++i) x_[i] += tmp_[i];

    for (int64_t t = 0; t < n; ++t) RmsNorm(&x_[t * E], L.ffn_norm.data(), E, c_.rms_eps, &h_[t * E]);
    const cpu::MatMulTarget gate_up[] = {{&L.gate, gate_.data()}, {&L.up, up_.data()}};
    cpu::MatMulShared(gate_up, h_.data(), n, pool_, act_scratch_);
    SwiGlu(n * F);
    cpu::MatMul(L.down, gate_.data(), n, tmp_.data(), pool_, act_scratch_);
    for (int64_t i = 0; i < n * E; ++i) x_[i] += tmp_[i];
  }

  // Final norm and output projection only for the tokens that asked for output.
  int64_t n_out = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (batch[t].want_output) RmsNorm(&x_[t * E], w_.output_norm.data(), E, c_.rms_eps, &h_[n_out++ * E]);
  }
  if (n_out == 0) return Status::Ok();
  if (hidden != nullptr) hidden->insert(hidden->end(), h_.begin(), h_.begin() + n_out * E);
  if (logits != nullptr) {
    const size_t base = logits->size();
    logits->resize(base + static_cast<size_t>(n_out) * c_.n_vocab);
    cpu::MatMul(w_.output, h_.data(), n_out, logits->data() + base, pool_, act_scratch_);
  }
  return Status::Ok();
}

}  // namespace dv::model
