// What a GGUF model is, in the terms a user asks about: architecture, size, shape, quantization,
// tokenizer. Used by `deepvault model info` and the server's model listing.
//
// Thread safety: plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "engine/gguf/gguf.h"
#include "engine/quant/tensor_type.h"

namespace dv::gguf {

struct TensorTypeStats {
  uint64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

struct ModelSummary {
  std::string path;
  uint64_t file_size = 0;
  uint32_t gguf_version = 0;
  size_t shards = 1;
  std::string architecture;           // general.architecture ("" when absent)
  std::string name;                   // general.name
  std::optional<std::string> file_type;  // llama.cpp's name for general.file_type, e.g. "Q4_K_M"
  uint64_t parameters = 0;            // elements of all tensors
  uint64_t tensor_bytes = 0;
  // <arch>.* hyper-parameters; absent when the key is missing or not a scalar.
  std::optional<uint64_t> context_length, embedding_length, block_count, feed_forward_length, head_count,
      head_count_kv, expert_count, expert_used_count, vocab_size_key;
  std::optional<double> rope_freq_base, rms_norm_eps;
  std::map<quant::TensorType, TensorTypeStats> types;
  // Tokenizer.
  std::string tokenizer_model;        // tokenizer.ggml.model
  std::string tokenizer_pre;          // tokenizer.ggml.pre
  uint64_t vocab_size = 0;            // length of tokenizer.ggml.tokens
  std::optional<uint64_t> bos_token_id, eos_token_id;
  std::optional<std::string> chat_template;  // tokenizer.chat_template

  // Average bits per weight over all tensors (0 without tensors).
  double bits_per_weight() const;
};

ModelSummary Summarize(const GgufFile& file);

// llama.cpp's llama_ftype names ("MOSTLY_Q4_K_M" is reported as "Q4_K_M"); nullopt when unknown.
std::optional<std::string> FileTypeName(uint64_t ftype);

}  // namespace dv::gguf
