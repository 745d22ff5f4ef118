// Exact byte layouts of ggml's quantization blocks (little-endian, no padding).
//
// Legacy formats quantize blocks of 32 values with one fp16 scale `d` (and for the *_1 types an
// fp16 offset `m`): value = d * q (+ m). K-quants group 256 values into a super-block of 8 or 16
// sub-blocks whose own scales (and mins) are quantized against the fp16 super-block scales.
// fp16 fields are stored as raw uint16_t bits (see fp16.h).
#pragma once

#include <cstdint>

namespace dv::quant {

inline constexpr int kBlockSize = 32;       // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0
inline constexpr int kSuperBlockSize = 256;  // QK_K
inline constexpr int kKScaleBytes = 12;      // K_SCALE_SIZE: 8 six-bit scales + 8 six-bit mins

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kBlockSize / 2];  // element j in low nibble of qs[j], element j+16 in the high nibble
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kBlockSize / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j = fifth bit of element j (uint32 little-endian)
  uint8_t qs[kBlockSize / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kBlockSize / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kBlockSize];
};

// 16 sub-blocks of 16; scales[i]: low nibble = scale, high nibble = min. value = d*sc*q - dmin*m.
struct BlockQ2_K {
  uint8_t scales[kSuperBlockSize / 16];
  uint8_t qs[kSuperBlockSize / 4];
  uint16_t d;
  uint16_t dmin;
};
// 16 sub-blocks of 16 with 6-bit signed scales (bias 32); 2 low bits in qs, high bit in hmask
// (set = no offset, clear = minus 4). value = d * (sc - 32) * q.
struct BlockQ3_K {
  uint8_t hmask[kSuperBlockSize / 8];
  uint8_t qs[kSuperBlockSize / 4];
  uint8_t scales[kKScaleBytes];
  uint16_t d;
};
// 8 sub-blocks of 32; 6-bit scales and mins packed in 12 bytes. value = d*sc*q - dmin*m.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kSuperBlockSize / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kSuperBlockSize / 8];
  uint8_t qs[kSuperBlockSize / 2];
};
// 16 sub-blocks of 16 with int8 scales; 6-bit quants (bias 32): 4 low bits in ql, 2 high in qh.
struct BlockQ6_K {
  uint8_t ql[kSuperBlockSize / 2];
  uint8_t qh[kSuperBlockSize / 4];
  int8_t scales[kSuperBlockSize / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(alignof(BlockQ4_0) == 2 && alignof(BlockQ6_K) == 2);

// Unpacks sub-block j (0..7) scale and min of a Q4_K/Q5_K super-block: j < 4 use the low 6 bits
// of bytes j and j+4; j >= 4 take 4 low bits from byte j+4 and 2 high bits from bytes j-4 / j.
inline void UnpackScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace dv::quant
