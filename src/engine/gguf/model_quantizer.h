// Re-quantizes a GGUF model into another file ("deepvault model quantize").
//
// Recipes follow llama-quantize's choices so that files are interchangeable with llama.cpp's:
//   F16, BF16, Q8_0, Q6_K  every weight matrix in that type;
//   Q4_0                   Q4_0, output.weight Q6_K;
//   Q4_K_M / Q5_K_M        Q4_K / Q5_K, output.weight Q6_K, and attn_v / ffn_down Q6_K in the
//                          layers where llama.cpp's use_more_bits(i, n) holds: i < n/8,
//                          i >= 7n/8, or (i - n/8) % 3 == 2 (integer division).
// One-dimensional tensors (norms, biases) stay F32. A matrix whose rows do not fit the chosen
// type's block size falls back as llama.cpp does (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16).
// The output keeps the input's metadata in order, with general.quantization_version = 2 and
// general.file_type (llama_ftype) appended, and orders tensors as llama-quantize does: tensors
// outside blk.N first, then by layer, each group by name.
//
// Thread safety: QuantizeModel uses `pool` for rows of one tensor at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string_view>

#include "common/thread_pool.h"
#include "deepvault/status.h"
#include "engine/gguf/gguf.h"
#include "engine/quant/tensor_type.h"

namespace dv::gguf {

enum class QuantRecipe { kF16, kBF16, kQ8_0, kQ6_K, kQ4_0, kQ4_K_M, kQ5_K_M };

// "q8_0", "q4_k_m", ... (case-insensitive).
Result<QuantRecipe> ParseQuantRecipe(std::string_view name);
std::string_view QuantRecipeName(QuantRecipe recipe);
// llama_ftype written to general.file_type.
uint32_t QuantRecipeFileType(QuantRecipe recipe);

// The type the recipe gives tensor `t` of a model with `n_layers` blocks.
quant::TensorType ChooseTensorType(QuantRecipe recipe, const TensorInfo& t, uint32_t n_layers);

struct QuantizeReport {
  std::map<quant::TensorType, uint64_t> tensors_per_type;
  uint64_t input_bytes = 0;   // tensor data read
  uint64_t output_bytes = 0;  // tensor data written
};

// Writes `input` re-quantized with `recipe` to `output` (through a temporary file).
Result<QuantizeReport> QuantizeModel(const GgufFile& input, const std::filesystem::path& output,
                                     QuantRecipe recipe, ThreadPool& pool);

}  // namespace dv::gguf
