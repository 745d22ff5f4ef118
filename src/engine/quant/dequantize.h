// Scalar dequantization of one row of any supported tensor type to float.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "deepvault/status.h"
#include "engine/quant/tensor_type.h"

namespace dv::quant {

// Dequantizes `out.size()` elements from `src` (raw row bytes, any alignment).
// Fails when the type is unsupported, out.size() is not a multiple of the block size, or `src`
// holds fewer than RowBytes(type, out.size()) bytes.
Status DequantizeRow(TensorType type, std::span<const uint8_t> src, std::span<float> out);

}  // namespace dv::quant
