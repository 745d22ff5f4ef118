#include "engine/quant/dequantize.h"

#include <cstring>
#include <string>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"

namespace dv::quant {
namespace {

// Copies block i of `src` into a properly aligned local struct.
template <typename Block>
Block LoadBlock(const uint8_t* src, size_t i) {
  Block b;
  std::memcpy(&b, src + i * sizeof(Block), sizeof(Block));
  return b;
}

void DequantQ4_0(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, y += kBlockSize) {
    const auto b = LoadBlock<BlockQ4_0>(src, i);
    const float d = Fp16ToFloat(b.d);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 0xF) - 8) * d;
      y[j + kBlockSize / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
}

void DequantQ4_1(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, y += kBlockSize) {
    const auto b = LoadBlock<BlockQ4_1>(src, i);
    const float d = Fp16ToFloat(b.d), m = Fp16ToFloat(b.m);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      y[j] = static_cast<float>(b.qs[j] & 0xF) * d + m;
      y[j + kBlockSize / 2] = static_cast<float>(b.qs[j] >> 4) * d + m;
    }
  }
}

uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

void DequantQ5_0(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, y += kBlockSize) {
    const auto b = LoadBlock<BlockQ5_0>(src, i);
    const float d = Fp16ToFloat(b.d);
    const uint32_t qh = LoadU32(b.qh);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int hi0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int hi1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      y[j] = static_cast<float>(((b.qs[j] & 0xF) | hi0) - 16) * d;
      y[j + kBlockSize / 2] = static_cast<float>(((b.qs[j] >> 4) | hi1) - 16) * d;
    }
  }
}

void DequantQ5_1(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, y += kBlockSize) {
    const auto b = LoadBlock<BlockQ5_1>(src, i);
    const float d = Fp16ToFloat(b.d), m = Fp16ToFloat(b.m);
    const uint32_t qh = LoadU32(b.qh);
    for (int j = 0; j < kBlockSize / 2; ++j) {
      const int hi0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int hi1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      y[j] = static_cast<float>((b.qs[j] & 0xF) | hi0) * d + m;
      y[j + kBlockSize / 2] = static_cast<float>((b.qs[j] >> 4) | hi1) * d + m;
    }
  }
}

void DequantQ8_0(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, y += kBlockSize) {
    const auto b = LoadBlock<BlockQ8_0>(src, i);
    const float d = Fp16ToFloat(b.d);
    for (int j = 0; j < kBlockSize; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

void DequantQ2_K(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ2_K>(src, i);
    const float d = Fp16ToFloat(b.d), dmin = Fp16ToFloat(b.dmin);
    // Each 128-element half uses 32 bytes of qs; 2-bit field `shift` of byte l holds element
    // 32*(shift/2) + l of that half (l < 32), sub-block = element / 16.
    int sub = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b.qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(b.scales[sub] & 0xF);
          const float ml = dmin * static_cast<float>(b.scales[sub] >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

// Unpacks the 16 six-bit Q3_K scales: low 4 bits from bytes 0..7 (low nibble for j < 8, high
// nibble of byte j-8 otherwise), high 2 bits from byte 8 + j%4 at bit 2*(j/4).
void UnpackQ3Scales(const uint8_t* packed, int* scales) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = (low | (high << 4)) - 32;
  }
}

void DequantQ3_K(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ3_K>(src, i);
    const float d = Fp16ToFloat(b.d);
    int scales[16];
    UnpackQ3Scales(b.scales, scales);
    int sub = 0;
    uint8_t mask = 1;  // hmask bit for the current 32-element group
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b.qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, mask = static_cast<uint8_t>(mask << 1)) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(scales[sub]);
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            const int low = (q[l] >> shift) & 3;
            *y++ = dl * static_cast<float>(low - ((b.hmask[l] & mask) ? 0 : 4));
          }
        }
      }
    }
  }
}

void DequantQ4_K(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ4_K>(src, i);
    const float d = Fp16ToFloat(b.d), dmin = Fp16ToFloat(b.dmin);
    for (int chunk = 0; chunk < 4; ++chunk) {  // 64 elements: low nibbles then high nibbles
      const uint8_t* q = b.qs + 32 * chunk;
      for (int part = 0; part < 2; ++part) {
        uint8_t sc, m;
        UnpackScaleMinK4(2 * chunk + part, b.scales, &sc, &m);
        const float dl = d * sc, ml = dmin * m;
        for (int l = 0; l < 32; ++l) *y++ = dl * static_cast<float>((q[l] >> (4 * part)) & 0xF) - ml;
      }
    }
  }
}

void DequantQ5_K(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ5_K>(src, i);
    const float d = Fp16ToFloat(b.d), dmin = Fp16ToFloat(b.dmin);
    for (int chunk = 0; chunk < 4; ++chunk) {
      const uint8_t* q = b.qs + 32 * chunk;
      for (int part = 0; part < 2; ++part) {
        const int sub = 2 * chunk + part;
        uint8_t sc, m;
        UnpackScaleMinK4(sub, b.scales, &sc, &m);
        const float dl = d * sc, ml = dmin * m;
        for (int l = 0; l < 32; ++l) {
          const int v = ((q[l] >> (4 * part)) & 0xF) | (((b.qh[l] >> sub) & 1) << 4);
          *y++ = dl * static_cast<float>(v) - ml;
        }
      }
    }
  }
}

void DequantQ6_K(const uint8_t* src, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ6_K>(src, i);
    const float d = Fp16ToFloat(b.d);
    for (int half = 0; half < 2; ++half, y += 128) {
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      const int8_t* sc = b.scales + 8 * half;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is] * q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2] * q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4] * q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6] * q4);
      }
    }
  }
}

}  // namespace

Status DequantizeRow(TensorType type, std::span<const uint8_t> src, std::span<float> out) {
  const TypeTraits& traits = Traits(type);
  if (!traits.supported) return Unimplemented("cannot dequantize tensor type " + TypeName(type));
  DV_ASSIGN_OR_RETURN(const uint64_t need, RowBytes(type, out.size()));
  if (src.size() < need) {
    return InvalidArgument("row of " + std::to_string(out.size()) + " " + TypeName(type) + " elements needs " +
                           std::to_string(need) + " bytes, got " + std::to_string(src.size()));
  }
  const uint8_t* s = src.data();
  float* y = out.data();
  const size_t n = out.size();
  const size_t nb = n / traits.block_size;
  switch (type) {
    case TensorType::kF32:
      std::memcpy(y, s, n * sizeof(float));
      break;
    case TensorType::kF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        y[i] = Fp16ToFloat(h);
      }
      break;
    case TensorType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        y[i] = Bf16ToFloat(h);
      }
      break;
    case TensorType::kQ4_0: DequantQ4_0(s, y, nb); break;
    case TensorType::kQ4_1: DequantQ4_1(s, y, nb); break;
    case TensorType::kQ5_0: DequantQ5_0(s, y, nb); break;
    case TensorType::kQ5_1: DequantQ5_1(s, y, nb); break;
    case TensorType::kQ8_0: DequantQ8_0(s, y, nb); break;
    case TensorType::kQ2_K: DequantQ2_K(s, y, nb); break;
    case TensorType::kQ3_K: DequantQ3_K(s, y, nb); break;
    case TensorType::kQ4_K: DequantQ4_K(s, y, nb); break;
    case TensorType::kQ5_K: DequantQ5_K(s, y, nb); break;
    case TensorType::kQ6_K: DequantQ6_K(s, y, nb); break;
    default:
      return Unimplemented("cannot dequantize tensor type " + TypeName(type));
  }
  return Status();
}

}  // namespace dv::quant
