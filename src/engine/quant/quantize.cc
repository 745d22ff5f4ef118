#include "engine/quant/quantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"

namespace dv::quant {
namespace {

template <typename Block>
void StoreBlock(const Block& b, uint8_t* out, size_t i) {
  std::memcpy(out + i * sizeof(Block), &b, sizeof(Block));
}

// Value with the largest magnitude (the first one on ties), sign kept.
float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void MinMax(const float* x, int n, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    *min = std::min(*min, x[j]);
    *max = std::max(*max, x[j]);
  }
}

// Q8_0: d = absmax / 127, q = round-half-away(x / d).
void QuantizeQ8_0(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kBlockSize) {
    float amax = 0.0f;
    for (int j = 0; j < kBlockSize; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = FloatToFp16(d);
    for (int j = 0; j < kBlockSize; ++j) b.qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
    StoreBlock(b, out, i);
  }
}

// Q4_0: the largest-magnitude value maps to -8: d = max / -8, q = min(15, trunc(x/d + 8.5)).
void QuantizeQ4_0(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kBlockSize) {
    const float d = SignedAbsMax(x, kBlockSize) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = FloatToFp16(d);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + kBlockSize / 2] * id + 8.5f)));
      b.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    StoreBlock(b, out, i);
  }
}

// Q4_1: d = (max - min) / 15, m = min, q = min(15, trunc((x - min)/d + 0.5)).
void QuantizeQ4_1(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kBlockSize) {
    float min, max;
    MinMax(x, kBlockSize, &min, &max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 b;
    b.d = FloatToFp16(d);
    b.m = FloatToFp16(min);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
      const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j + kBlockSize / 2] - min) * id + 0.5f)));
      b.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    StoreBlock(b, out, i);
  }
}

void PackFiveBit(int j, int q0, int q1, uint8_t* qs, uint32_t* qh) {
  qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
  *qh |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
  *qh |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + kBlockSize / 2);
}

void StoreU32(uint32_t v, uint8_t* p) {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
}

// Q5_0: d = max / -16, q = min(31, trunc(x/d + 16.5)).
void QuantizeQ5_0(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kBlockSize) {
    const float d = SignedAbsMax(x, kBlockSize) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 b;
    b.d = FloatToFp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
      const int q1 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + kBlockSize / 2] * id + 16.5f)));
      PackFiveBit(j, q0, q1, b.qs, &qh);
    }
    StoreU32(qh, b.qh);
    StoreBlock(b, out, i);
  }
}

// Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min)/d + 0.5).
void QuantizeQ5_1(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kBlockSize) {
    float min, max;
    MinMax(x, kBlockSize, &min, &max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 b;
    b.d = FloatToFp16(d);
    b.m = FloatToFp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>(static_cast<uint8_t>((x[j] - min) * id + 0.5f)));
      const int q1 = std::min(31, static_cast<int>(static_cast<uint8_t>((x[j + kBlockSize / 2] - min) * id + 0.5f)));
      PackFiveBit(j, q0, q1, b.qs, &qh);
    }
    StoreU32(qh, b.qh);
    StoreBlock(b, out, i);
  }
}

}  // namespace

bool CanQuantize(TensorType type) {
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ8_0:
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
    case TensorType::kQ2_K:
    case TensorType::kQ3_K:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

Status QuantizeRow(TensorType type, std::span<const float> x, std::span<uint8_t> out) {
  if (!CanQuantize(type)) return Unimplemented("cannot quantize to tensor type " + TypeName(type));
  DV_ASSIGN_OR_RETURN(const uint64_t need, RowBytes(type, x.size()));
  if (out.size() != need) {
    return InvalidArgument("quantizing " + std::to_string(x.size()) + " elements to " + TypeName(type) + " needs " +
                           std::to_string(need) + " output bytes, got " + std::to_string(out.size()));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      return InvalidArgument("cannot quantize a non-finite value (element " + std::to_string(i) + ")");
    }
  }
  const size_t n = x.size();
  const size_t nb = n / Traits(type).block_size;
  uint8_t* o = out.data();
  switch (type) {
    case TensorType::kF32:
      std::memcpy(o, x.data(), n * sizeof(float));
      break;
    case TensorType::kF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToFp16(x[i]);
        std::memcpy(o + 2 * i, &h, 2);
      }
      break;
    case TensorType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToBf16(x[i]);
        std::memcpy(o + 2 * i, &h, 2);
      }
      break;
    case TensorType::kQ8_0: QuantizeQ8_0(x.data(), o, nb); break;
    case TensorType::kQ4_0: QuantizeQ4_0(x.data(), o, nb); break;
    case TensorType::kQ4_1: QuantizeQ4_1(x.data(), o, nb); break;
    case TensorType::kQ5_0: QuantizeQ5_0(x.data(), o, nb); break;
    case TensorType::kQ5_1: QuantizeQ5_1(x.data(), o, nb); break;
    case TensorType::kQ2_K: internal::QuantizeQ2_K(x.data(), o, n); break;
    case TensorType::kQ3_K: internal::QuantizeQ3_K(x.data(), o, n); break;
    case TensorType::kQ4_K: internal::QuantizeQ4_K(x.data(), o, n); break;
    case TensorType::kQ5_K: internal::QuantizeQ5_K(x.data(), o, n); break;
    case TensorType::kQ6_K: internal::QuantizeQ6_K(x.data(), o, n); break;
    default:
      return Unimplemented("cannot quantize to tensor type " + TypeName(type));
  }
  return Status();
}

}  // namespace dv::quant
