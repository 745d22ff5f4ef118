// Converts a Hugging Face checkpoint folder (config.json, tokenizer.json, *.safetensors) of a
// Llama, Qwen2 or Qwen3 model into one GGUF file ("deepvault model convert"), writing the
// metadata llama.cpp's convert_hf_to_gguf.py writes:
//
//   general.architecture / type / name / file_type / quantization_version
//   <arch>.context_length, embedding_length, block_count, feed_forward_length,
//         attention.head_count, attention.head_count_kv, rope.freq_base,
//         attention.layer_norm_rms_epsilon, attention.key_length / value_length (when
//         config.json gives head_dim); llama also vocab_size and rope.dimension_count
//   RoPE scaling: linear and yarn as <arch>.rope.scaling.* keys; llama3 as the F32 tensor
//         rope_freqs.weight ([head_dim/2] per-pair frequency divisors)
//   tokenizer.* (hf_vocab.h)
//
// Tensors are renamed HF → GGUF (hf_tensor_names.h) and keep their data layout (HF [out, in]
// row-major is GGUF ne = [in, out]), except that for `llama` the rows of attn_q / attn_k are
// permuted within each head from HF's rotate-half order to GGUF's interleaved-pair order:
// GGUF row h*d + 2j + s holds HF row h*d + s*d/2 + j (d = head_dim, s in {0, 1}).
// Output types: f32 keeps every tensor F32; the others use model_quantizer.h's recipes (1-D
// tensors stay F32).
//
// Validation before anything is written: supported architecture, every required tensor present
// with the shape config.json implies, no unexpected tensor, F32/F16/BF16 data, tokenizer ids
// below vocab_size. The file is produced tensor by tensor (one tensor's output in memory at a
// time, the inputs mapped), written to a temporary name and renamed into place.
//
// Thread safety: ConvertHfToGguf uses `pool` for the rows of one tensor at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/thread_pool.h"
#include "deepvault/status.h"
#include "engine/gguf/model_quantizer.h"
#include "engine/quant/tensor_type.h"

namespace dv::convert {

// f32, or one of the quantizer's recipes.
struct OutputType {
  std::optional<gguf::QuantRecipe> recipe;  // nullopt: f32
  std::string_view name() const { return recipe ? gguf::QuantRecipeName(*recipe) : "f32"; }
};

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k" (case-insensitive).
Result<OutputType> ParseOutputType(std::string_view name);

struct ConvertOptions {
  OutputType type;
  std::string tokenizer_pre;  // overrides tokenizer.ggml.pre detection when set
  std::string name;           // general.name; default: the folder's name
};

struct ConvertReport {
  std::string architecture;  // GGUF name
  std::string tokenizer_pre;
  std::string tokenizer_pre_reason;
  uint64_t n_parameters = 0;
  std::map<quant::TensorType, uint64_t> tensors_per_type;
  uint64_t output_bytes = 0;  // file size
};

Result<ConvertReport> ConvertHfToGguf(const std::filesystem::path& hf_dir, const std::filesystem::path& output,
                                      const ConvertOptions& options, ThreadPool& pool);

}  // namespace dv::convert
