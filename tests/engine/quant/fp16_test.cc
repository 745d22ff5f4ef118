// fp16/bf16 conversions against the CPU's own F16C conversion instructions (when present) and
// against exact round-to-nearest-even computed in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/quant/fp16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dv::quant {
namespace {

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t HardwareFloatToHalf(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float HardwareHalfToFloat(uint16_t h) { return _cvtsh_ss(h); }
bool HasF16c() { return __builtin_cpu_supports("f16c"); }
#else
uint16_t HardwareFloatToHalf(float) { return 0; }
float HardwareHalfToFloat(uint16_t) { return 0; }
bool HasF16c() { return false; }
#endif

TEST(Fp16, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = Fp16ToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Fp16ToFloat(FloatToFp16(f)))) << h;
      continue;
    }
    EXPECT_EQ(FloatToFp16(f), h) << "half bits " << h;
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(FloatToFp16(1.0f), 0x3C00);
  EXPECT_EQ(FloatToFp16(-2.0f), 0xC000);
  EXPECT_EQ(FloatToFp16(65504.0f), 0x7BFF);       // largest finite half
  EXPECT_EQ(FloatToFp16(65520.0f), 0x7C00);       // ties to even: rounds up to infinity
  EXPECT_EQ(FloatToFp16(65519.99f), 0x7BFF);
  EXPECT_EQ(FloatToFp16(5.9604645e-8f), 0x0001);  // smallest subnormal, 2^-24
  EXPECT_EQ(FloatToFp16(2.9802322e-8f), 0x0000);  // 2^-25: a tie, rounds to even (zero)
  EXPECT_EQ(FloatToFp16(1.0f + 1.0f / 2048), 0x3C00);  // tie between 1 and 1+2^-10: even
  EXPECT_EQ(FloatToFp16(1.0f + 3.0f / 2048), 0x3C02);  // tie: rounds up to even
  EXPECT_EQ(Fp16ToFloat(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(Fp16ToFloat(0xFC00)));
}

TEST(Fp16, MatchesF16cInstructionsOnRandomFloats) {
  if (!HasF16c()) GTEST_SKIP() << "CPU without F16C";
  for (uint32_t h = 0; h < 65536; ++h) {
    const float hw = HardwareHalfToFloat(static_cast<uint16_t>(h));
    const float sw = Fp16ToFloat(static_cast<uint16_t>(h));
    if (std::isnan(hw)) {
      EXPECT_TRUE(std::isnan(sw));
    } else {
      EXPECT_EQ(std::memcmp(&hw, &sw, 4), 0) << h;
    }
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 2000000; ++i) {
    const uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToFp16(f), HardwareFloatToHalf(f)) << "float bits " << bits;
  }
}

// Reference bf16 rounding: the nearer of the two bf16 neighbours, ties to the even one.
uint16_t ReferenceBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t down = static_cast<uint16_t>(bits >> 16);
  const uint16_t up = static_cast<uint16_t>(down + 1);
  const double lo = Bf16ToFloat(down), hi = Bf16ToFloat(up);
  const double dl = std::fabs(static_cast<double>(f) - lo), dh = std::fabs(hi - static_cast<double>(f));
  if (std::isinf(hi) && !std::isinf(lo)) {
    // Above the largest finite bf16 the "up" neighbour is infinity at the same spacing.
    return dl < dh || (dl == dh && (down & 1) == 0) ? down : up;
  }
  if (dl < dh) return down;
  if (dh < dl) return up;
  return (down & 1) == 0 ? down : up;
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(FloatToBf16(1.0f), 0x3F80);
  EXPECT_EQ(Bf16ToFloat(0x3F80), 1.0f);
  EXPECT_TRUE(std::isnan(Bf16ToFloat(FloatToBf16(std::nanf("")))));
  std::mt19937 rng(7);
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (!std::isfinite(f) || std::fabs(f) > 3.0e38f) continue;
    ASSERT_EQ(FloatToBf16(f), ReferenceBf16(f)) << "float bits " << bits;
  }
}

}  // namespace
}  // namespace dv::quant
