#include "engine/model/weights.h"

#include <span>

#include "engine/quant/dequantize.h"

namespace dv::model {
namespace {

using quant::TensorType;

std::string Shape(std::initializer_list<uint64_t> ne) {
  std::string s = "[";
  bool first = true;
  for (uint64_t v : ne) {
    if (!first) s += ", ";
    s += std::to_string(v);
    first = false;
  }
  return s + "]";
}

class Loader {
 public:
  explicit Loader(const ModelSource& source) : source_(source) {}

  Result<const TensorRef*> Get(const std::string& name, std::initializer_list<uint64_t> ne) const {
    const TensorRef* t = source_.Find(name);
    if (t == nullptr) return InvalidArgument("tensor " + name + " is missing (expected shape " + Shape(ne) + ")");
    bool match = t->n_dims == ne.size() || (t->n_dims > ne.size() && t->ne[ne.size()] == 1);
    size_t i = 0;
    for (uint64_t v : ne) match = match && t->ne[i++] == v;
    if (!match) {
      return InvalidArgument("tensor " + name + " has shape " + t->ShapeString() + ", expected " + Shape(ne) +
                             " from the model's metadata");
    }
    const auto& traits = quant::Traits(t->type);
    if (!traits.supported) {
      return InvalidArgument("tensor " + name + " has type " + quant::TypeName(t->type) + ", which is not supported");
    }
    return t;
  }

  Result<cpu::WeightMatrix> Matrix(const std::string& name, uint64_t cols, uint64_t rows) const {
    DV_ASSIGN_OR_RETURN(const TensorRef* t, Get(name, {cols, rows}));
    cpu::WeightMatrix m;
    m.type = t->type;
    m.rows = static_cast<int64_t>(rows);
    m.cols = static_cast<int64_t>(cols);
    m.kernel = cpu::SelectDot(t->type);
    if (m.kernel.fn == nullptr) {
      return InvalidArgument("tensor " + name + " has type " + quant::TypeName(t->type) +
                             ", which has no matrix kernel (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                             "Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
    }
    DV_ASSIGN_OR_RETURN(uint64_t row_bytes, quant::RowBytes(t->type, cols));
    if (row_bytes * rows != t->n_bytes) return InvalidArgument("tensor " + name + ": byte size does not match its shape");
    m.row_bytes = row_bytes;
    m.data = t->data;
    return m;
  }

  Result<std::vector<float>> Vector(const std::string& name, uint64_t n) const {
    DV_ASSIGN_OR_RETURN(const TensorRef* t, Get(name, {n}));
    std::vector<float> out(n);
    if (Status s = quant::DequantizeRow(t->type, {t->data, static_cast<size_t>(t->n_bytes)}, out); !s.ok()) {
      return std::move(s).AddContext("reading tensor " + name);
    }
    return out;
  }

 private:
  const ModelSource& source_;
};

}  // namespace

Result<ModelWeights> ModelWeights::Load(const ModelSource& source) {
  const ModelConfig& c = source.config();
  Loader l(source);
  ModelWeights w;
  const uint64_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), F = c.n_ff, V = c.n_vocab;
  DV_ASSIGN_OR_RETURN(w.token_embd, l.Get("token_embd.weight", {E, V}));
  w.layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights& L = w.layers[i];
    DV_ASSIGN_OR_RETURN(L.attn_norm, l.Vector(p + "attn_norm.weight", E));
    DV_ASSIGN_OR_RETURN(L.wq, l.Matrix(p + "attn_q.weight", E, Q));
    DV_ASSIGN_OR_RETURN(L.wk, l.Matrix(p + "attn_k.weight", E, KV));
    DV_ASSIGN_OR_RETURN(L.wv, l.Matrix(p + "attn_v.weight", E, KV));
    DV_ASSIGN_OR_RETURN(L.wo, l.Matrix(p + "attn_output.weight", Q, E));
    if (c.qkv_bias) {
      DV_ASSIGN_OR_RETURN(L.bq, l.Vector(p + "attn_q.bias", Q));
      DV_ASSIGN_OR_RETURN(L.bk, l.Vector(p + "attn_k.bias", KV));
      DV_ASSIGN_OR_RETURN(L.bv, l.Vector(p + "attn_v.bias", KV));
    }
    if (c.qk_norm) {
      DV_ASSIGN_OR_RETURN(L.q_norm, l.Vector(p + "attn_q_norm.weight", c.head_dim));
      DV_ASSIGN_OR_RETURN(L.k_norm, l.Vector(p + "attn_k_norm.weight", c.head_dim));
    }
    DV_ASSIGN_OR_RETURN(L.ffn_norm, l.Vector(p + "ffn_norm.weight", E));
    DV_ASSIGN_OR_RETURN(L.gate, l.Matrix(p + "ffn_gate.weight", E, F));
    DV_ASSIGN_OR_RETURN(L.up, l.Matrix(p + "ffn_up.weight", E, F));
    DV_ASSIGN_OR_RETURN(L.down, l.Matrix(p + "ffn_down.weight", F, E));
  }
  DV_ASSIGN_OR_RETURN(w.output_norm, l.Vector("output_norm.weight", E));
  DV_ASSIGN_OR_RETURN(w.output, l.Matrix(c.tied_output ? "token_embd.weight" : "output.weight", E, V));
  return w;
}

uint64_t ModelWeights::BytesPerToken() const {
  uint64_t total = output.bytes() + token_embd->n_bytes / token_embd->ne[1];
  for (const LayerWeights& L : layers) {
    for (const cpu::WeightMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) total += m->bytes();
  }
  return total;
}

}  // namespace dv::model
