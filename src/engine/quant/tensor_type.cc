#include "engine/quant/tensor_type.h"

#include <array>
#include <cctype>
#include <string>

namespace dv::quant {
namespace {

constexpr uint32_t kQK = 32;    // elements per block of the legacy formats
constexpr uint32_t kQKK = 256;  // elements per K-quant super-block

// Block sizes and byte counts are format facts (ggml's type_traits table).
constexpr std::array<TypeTraits, 32> kTraits = {{
    {TensorType::kF32, "f32", 1, 4, true},
    {TensorType::kF16, "f16", 1, 2, true},
    {TensorType::kQ4_0, "q4_0", kQK, 18, true},
    {TensorType::kQ4_1, "q4_1", kQK, 20, true},
    {TensorType::kQ5_0, "q5_0", kQK, 22, true},
    {TensorType::kQ5_1, "q5_1", kQK, 24, true},
    {TensorType::kQ8_0, "q8_0", kQK, 34, true},
    {TensorType::kQ8_1, "q8_1", kQK, 36, false},
    {TensorType::kQ2_K, "q2_K", kQKK, 84, true},
    {TensorType::kQ3_K, "q3_K", kQKK, 110, true},
    {TensorType::kQ4_K, "q4_K", kQKK, 144, true},
    {TensorType::kQ5_K, "q5_K", kQKK, 176, true},
    {TensorType::kQ6_K, "q6_K", kQKK, 210, true},
    {TensorType::kQ8_K, "q8_K", kQKK, 292, false},
    {TensorType::kIQ2_XXS, "iq2_xxs", kQKK, 66, false},
    {TensorType::kIQ2_XS, "iq2_xs", kQKK, 74, false},
    {TensorType::kIQ3_XXS, "iq3_xxs", kQKK, 98, false},
    {TensorType::kIQ1_S, "iq1_s", kQKK, 50, false},
    {TensorType::kIQ4_NL, "iq4_nl", kQK, 18, false},
    {TensorType::kIQ3_S, "iq3_s", kQKK, 110, false},
    {TensorType::kIQ2_S, "iq2_s", kQKK, 82, false},
    {TensorType::kIQ4_XS, "iq4_xs", kQKK, 136, false},
    {TensorType::kI8, "i8", 1, 1, false},
    {TensorType::kI16, "i16", 1, 2, false},
    {TensorType::kI32, "i32", 1, 4, false},
    {TensorType::kI64, "i64", 1, 8, false},
    {TensorType::kF64, "f64", 1, 8, false},
    {TensorType::kIQ1_M, "iq1_m", kQKK, 56, false},
    {TensorType::kBF16, "bf16", 1, 2, true},
    {TensorType::kTQ1_0, "tq1_0", kQKK, 54, false},
    {TensorType::kTQ2_0, "tq2_0", kQKK, 66, false},
    {TensorType::kMXFP4, "mxfp4", kQK, 17, false},
}};

}  // namespace

std::optional<TypeTraits> TraitsForId(uint32_t id) {
  for (const TypeTraits& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == id) return t;
  }
  return std::nullopt;
}

const TypeTraits& Traits(TensorType type) {
  for (const TypeTraits& t : kTraits) {
    if (t.type == type) return t;
  }
  return kTraits[0];  // unreachable for valid enumerators
}

std::string TypeName(TensorType type) {
  std::string name(Traits(type).name);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

Result<TensorType> ParseTypeName(std::string_view name) {
  for (const TypeTraits& t : kTraits) {
    if (t.name.size() != name.size()) continue;
    bool equal = true;
    for (size_t i = 0; i < name.size() && equal; ++i) {
      equal = std::tolower(static_cast<unsigned char>(name[i])) ==
              std::tolower(static_cast<unsigned char>(t.name[i]));
    }
    if (equal) return t.type;
  }
  return InvalidArgument("unknown tensor type \"" + std::string(name) + "\"");
}

Result<uint64_t> RowBytes(TensorType type, uint64_t n) {
  const TypeTraits& t = Traits(type);
  if (n % t.block_size != 0) {
    return InvalidArgument("row of " + std::to_string(n) + " elements is not a multiple of the " + TypeName(type) +
                           " block size " + std::to_string(t.block_size));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n / t.block_size, static_cast<uint64_t>(t.block_bytes), &bytes)) {
    return InvalidArgument("row of " + std::to_string(n) + " " + TypeName(type) + " elements overflows");
  }
  return bytes;
}

}  // namespace dv::quant
