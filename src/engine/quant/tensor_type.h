// Tensor element types of GGUF files, with ggml's numeric ids, and their block layouts.
//
// A quantized row of n elements is stored as n / block_size blocks of block_bytes bytes each;
// plain types (F32, F16, BF16) have block_size 1. Only the types deepvault can dequantize are
// "supported"; the others are known by name so that errors can say what a file contains.
//
// Thread safety: everything here is immutable and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "deepvault/status.h"

namespace dv::quant {

// ggml's type ids (ggml.h, enum ggml_type). Ids 4, 5 and 31..33, 36..38 were removed from ggml.
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct TypeTraits {
  TensorType type;
  std::string_view name;  // ggml's name: "f32", "q4_K", ...; printed upper-case in messages.
  uint32_t block_size;    // elements per block
  uint32_t block_bytes;   // bytes per block
  bool supported;         // deepvault can dequantize (and read) tensors of this type
};

// Traits of a known type id, or nullopt for an id ggml never assigned (or removed).
std::optional<TypeTraits> TraitsForId(uint32_t id);
// REQUIRES: `type` is one of the enumerators above.
const TypeTraits& Traits(TensorType type);

// Upper-case name as users see it: "Q4_K", "IQ2_XS", "F16".
std::string TypeName(TensorType type);
// Parses a type name case-insensitively ("q4_k", "Q8_0", "bf16").
Result<TensorType> ParseTypeName(std::string_view name);

// Bytes of a row of `n` elements. Fails when n is not a multiple of the block size or the size
// overflows. REQUIRES: Traits(type) known.
Result<uint64_t> RowBytes(TensorType type, uint64_t n);

}  // namespace dv::quant
