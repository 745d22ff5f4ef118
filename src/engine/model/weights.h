// The tensors of a model, checked against its config and bound to dot kernels.
//
// Matrices stay in their stored format and memory (the source's mapping); only the small vectors
// (norm weights, biases) are converted to float at load.
//
// Ownership: borrows the ModelSource, which must outlive the ModelWeights.
// Thread safety: immutable after Load; share freely.
#pragma once

#include <optional>
#include <vector>

#include "deepvault/status.h"
#include "engine/cpu/matmul.h"
#include "engine/model/source.h"

namespace dv::model {

struct LayerWeights {
  std::vector<float> attn_norm;            // [n_embd]
  cpu::WeightMatrix wq, wk, wv, wo;        // [q_dim, n_embd], [kv_dim, n_embd] x2, [n_embd, q_dim]
  std::vector<float> bq, bk, bv;           // [q_dim], [kv_dim], [kv_dim] (qwen2), else empty
  std::vector<float> q_norm, k_norm;       // [head_dim] (qwen3), else empty
  std::vector<float> ffn_norm;             // [n_embd]
  cpu::WeightMatrix gate, up, down;        // [n_ff, n_embd] x2, [n_embd, n_ff]
};

struct ModelWeights {
  const TensorRef* token_embd = nullptr;  // [n_vocab, n_embd] rows read one token at a time
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // [n_embd]
  cpu::WeightMatrix output;        // [n_vocab, n_embd] (token_embd when tied)

  // Every tensor must exist with the expected shape and a supported type; InvalidArgument names
  // the tensor, the expected and the found shape/type otherwise.
  static Result<ModelWeights> Load(const ModelSource& source);

  // Bytes of weights read for one generated token (all matrices; one embedding row).
  uint64_t BytesPerToken() const;
};

}  // namespace dv::model
