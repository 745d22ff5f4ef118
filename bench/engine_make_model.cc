// Writes a random-weight GGUF with the exact shape of DeepSeek-R1-Distill-Qwen-1.5B (qwen2: hidden
// 1536, 28 layers, 12 heads, 2 KV heads, FFN 8960, vocab 151936, untied output) for speed
// benchmarks (`deepvault bench`), in the tensor-type mix llama.cpp's llama-quantize produces:
//   q8_0:   every matrix Q8_0;
//   q4_k_m: Q4_K, except output Q6_K and attn_v / ffn_down Q6_K in the layers llama.cpp gives more
//           bits (the first and last eighth, and every third in between).
// Rows are valid blocks of the type: a pool of random N(0, 0.02) rows is quantized once and rows
// are drawn from it (speed depends on the format, not the values). Not a test fixture: write it to
// /tmp.
//
//   engine_make_model q4_k_m /tmp/r1-1.5b-q4_k_m.gguf [VOCAB.gguf]
//
// With VOCAB.gguf, its tokenizer.* metadata is copied in, so that `deepvault serve` can load the
// model (bench/serve_load), e.g. llama.cpp's ggml-vocab-deepseek-llm.gguf (102,400 tokens, inside
// the 151,936-row vocabulary).
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "engine/quant/quantize.h"

namespace {

using dv::quant::TensorType;

constexpr int kLayers = 28, kEmbd = 1536, kHeads = 12, kKvHeads = 2, kFf = 8960, kVocab = 151936;
constexpr int kHeadDim = kEmbd / kHeads;
constexpr int kPoolRows = 64;

struct Tensor {
  std::string name;
  TensorType type;
  std::vector<uint64_t> ne;
  std::vector<uint8_t> data;
};

std::mt19937 rng(42);

Tensor Matrix(const std::string& name, TensorType type, int cols, int rows) {
  const size_t row_bytes = *dv::quant::RowBytes(type, cols);
  std::normal_distribution<float> dist(0.f, 0.02f);
  std::vector<uint8_t> pool(kPoolRows * row_bytes);
  std::vector<float> x(cols);
  for (int r = 0; r < kPoolRows; ++r) {
    for (float& v : x) v = dist(rng);
    if (!dv::quant::QuantizeRow(type, x, std::span(pool.data() + r * row_bytes, row_bytes)).ok()) std::abort();
  }
  Tensor t{name, type, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)}, {}};
  t.data.resize(static_cast<size_t>(rows) * row_bytes);
  std::uniform_int_distribution<int> pick(0, kPoolRows - 1);
  for (int r = 0; r < rows; ++r) std::copy_n(pool.data() + pick(rng) * row_bytes, row_bytes, t.data.data() + r * row_bytes);
  return t;
}

Tensor Vector(const std::string& name, int n, float mean) {
  std::normal_distribution<float> dist(mean, 0.02f);
  Tensor t{name, TensorType::kF32, {static_cast<uint64_t>(n)}, std::vector<uint8_t>(n * sizeof(float))};
  auto* f = reinterpret_cast<float*>(t.data.data());
  for (int i = 0; i < n; ++i) f[i] = dist(rng);
  return t;
}

bool MoreBits(int layer) {
  return layer < kLayers / 8 || layer >= 7 * kLayers / 8 || (layer - kLayers / 8) % 3 == 2;
}

}  // namespace

int main(int argc, char** argv) {
  if ((argc != 3 && argc != 4) || (std::string(argv[1]) != "q8_0" && std::string(argv[1]) != "q4_k_m")) {
    std::fprintf(stderr, "usage: engine_make_model q8_0|q4_k_m OUT.gguf [VOCAB.gguf]\n");
    return 2;
  }
  const bool q8 = std::string(argv[1]) == "q8_0";
  const TensorType base = q8 ? TensorType::kQ8_0 : TensorType::kQ4_K;
  const TensorType more = q8 ? TensorType::kQ8_0 : TensorType::kQ6_K;
  std::vector<Tensor> tensors;
  tensors.push_back(Matrix("token_embd.weight", base, kEmbd, kVocab));
  tensors.push_back(Matrix("output.weight", more, kEmbd, kVocab));
  tensors.push_back(Vector("output_norm.weight", kEmbd, 1.f));
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    tensors.push_back(Vector(p + "attn_norm.weight", kEmbd, 1.f));
    tensors.push_back(Matrix(p + "attn_q.weight", base, kEmbd, kHeads * kHeadDim));
    tensors.push_back(Matrix(p + "attn_k.weight", base, kEmbd, kKvHeads * kHeadDim));
    tensors.push_back(Matrix(p + "attn_v.weight", MoreBits(l) ? more : base, kEmbd, kKvHeads * kHeadDim));
    tensors.push_back(Vector(p + "attn_q.bias", kHeads * kHeadDim, 0.f));
    tensors.push_back(Vector(p + "attn_k.bias", kKvHeads * kHeadDim, 0.f));
    tensors.push_back(Vector(p + "attn_v.bias", kKvHeads * kHeadDim, 0.f));
    tensors.push_back(Matrix(p + "attn_output.weight", base, kHeads * kHeadDim, kEmbd));
    tensors.push_back(Vector(p + "ffn_norm.weight", kEmbd, 1.f));
    tensors.push_back(Matrix(p + "ffn_gate.weight", base, kEmbd, kFf));
    tensors.push_back(Matrix(p + "ffn_up.weight", base, kEmbd, kFf));
    tensors.push_back(Matrix(p + "ffn_down.weight", MoreBits(l) ? more : base, kFf, kEmbd));
  }
  dv::gguf::GgufWriter w;
  auto check = [](const dv::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "engine_make_model: %s\n", s.Describe().c_str());
      std::exit(1);
    }
  };
  check(w.AddString("general.architecture", "qwen2"));
  check(w.AddString("general.name", std::string("random R1-Distill-Qwen-1.5B shape ") + argv[1]));
  check(w.AddU32("general.file_type", q8 ? 7 : 15));
  check(w.AddU32("qwen2.block_count", kLayers));
  check(w.AddU32("qwen2.context_length", 131072));
  check(w.AddU32("qwen2.embedding_length", kEmbd));
  check(w.AddU32("qwen2.feed_forward_length", kFf));
  check(w.AddU32("qwen2.attention.head_count", kHeads));
  check(w.AddU32("qwen2.attention.head_count_kv", kKvHeads));
  check(w.AddF32("qwen2.rope.freq_base", 10000.f));
  check(w.AddF32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f));
  if (argc == 4) {
    auto vocab = dv::gguf::GgufFile::Open(argv[3]);
    if (!vocab.ok()) check(vocab.status());
    for (const dv::gguf::KeyValue& kv : vocab->metadata()) {
      if (kv.key.starts_with("tokenizer.")) check(w.AddValue(kv.key, kv.value));
    }
  }
  for (const Tensor& t : tensors) check(w.AddTensor(t.name, t.type, t.ne, t.data));
  check(w.WriteToFile(argv[2]));
  std::printf("wrote %s\n", argv[2]);
  return 0;
}
