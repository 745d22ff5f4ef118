// Quantization of float rows into the supported block formats.
//
// The legacy formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) use the reference algorithm the formats
// define (round-to-nearest against the block's absolute maximum or min/max range), so the bytes
// equal llama.cpp's reference quantizer. The K-quants (Q2_K..Q6_K) use deepvault's own scale
// search, documented in quantize_k.cc; their blocks are valid for any reader of the format.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "deepvault/status.h"
#include "engine/quant/tensor_type.h"

namespace dv::quant {

// True for the types QuantizeRow can produce: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
bool CanQuantize(TensorType type);

// Quantizes `x` into `out`. Fails when the type cannot be produced, x.size() is not a multiple of
// the block size, out.size() != RowBytes(type, x.size()), or x holds a NaN or infinity.
Status QuantizeRow(TensorType type, std::span<const float> x, std::span<uint8_t> out);

namespace internal {
// Per-format block quantizers. REQUIRES: x holds n finite floats, n a multiple of the block size;
// out has room for the row.
void QuantizeQ2_K(const float* x, uint8_t* out, size_t n);
void QuantizeQ3_K(const float* x, uint8_t* out, size_t n);
void QuantizeQ4_K(const float* x, uint8_t* out, size_t n);
void QuantizeQ5_K(const float* x, uint8_t* out, size_t n);
void QuantizeQ6_K(const float* x, uint8_t* out, size_t n);
}  // namespace internal

}  // namespace dv::quant
