// The SwiGLU gate's SIMD path against std::exp over the float range, and the saturation ends.
#include "engine/cpu/swiglu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace dv::cpu {
namespace {

double Reference(float g, float u) { return static_cast<double>(g) / (1.0 + std::exp(-static_cast<double>(g))) * u; }

TEST(SwiGlu, SimdPathMatchesStdExp) {
  if (!Features().avx2) GTEST_SKIP() << "no SIMD path without AVX2";
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-100.f, 100.f), narrow(-8.f, 8.f);
  const int n = 100003;  // not a multiple of 8: the scalar tail runs too
  std::vector<float> gate(n), up(n), out(n);
  for (int i = 0; i < n; ++i) {
    gate[i] = i % 3 == 0 ? wide(rng) : narrow(rng);
    up[i] = narrow(rng);
  }
  gate[0] = 0.f;
  gate[1] = -0.f;
  gate[2] = 1e-30f;
  gate[3] = 87.5f;
  gate[4] = -88.f;
  SwiGlu(gate.data(), up.data(), n, out.data());
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const double ref = Reference(gate[i], up[i]);
    const double err = std::fabs(out[i] - ref);
    ASSERT_LE(err, 4e-7 * std::fabs(ref) + 1e-30) << "gate " << gate[i] << " up " << up[i];
    if (ref != 0) worst = std::max(worst, err / std::fabs(ref));
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
}

TEST(SwiGlu, SaturatesAtTheEnds) {
  const std::vector<float> gate = {1e4f, -1e4f, 90.f, -90.f, 0.f, 1.f, -1.f, 2.f, 3.f};
  std::vector<float> up(gate.size(), 2.f), out(gate.size());
  for (const CpuFeatures& f : {CpuFeatures{}, Features()}) {
    SwiGlu(gate.data(), up.data(), static_cast<int64_t>(gate.size()), out.data(), f);
    EXPECT_FLOAT_EQ(out[0], 2e4f);
    EXPECT_LE(std::fabs(out[1]), 1e-30f);
    EXPECT_FLOAT_EQ(out[2], 180.f);
    EXPECT_LE(std::fabs(out[3]), 1e-30f);
    EXPECT_EQ(out[4], 0.f);
    EXPECT_NEAR(out[5], 2 * 0.7310585786f, 1e-6f);
    EXPECT_NEAR(out[6], -2 * 0.2689414214f, 1e-6f);
    for (float v : out) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(SwiGlu, OutputMayAliasAnInput) {
  std::vector<float> gate = {0.5f, -2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, -9.f};
  std::vector<float> up(gate.size(), 1.5f), expect(gate.size());
  SwiGlu(gate.data(), up.data(), static_cast<int64_t>(gate.size()), expect.data());
  SwiGlu(gate.data(), up.data(), static_cast<int64_t>(gate.size()), gate.data());
  EXPECT_EQ(gate, expect);
}

}  // namespace
}  // namespace dv::cpu
