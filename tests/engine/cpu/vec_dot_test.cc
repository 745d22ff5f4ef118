// Every SIMD dot kernel against the plain C++ path (dequantize + double sum) on random rows of
// awkward lengths; activation conversion against the format definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/cpu/vec_dot.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quantize.h"

namespace dv::cpu {
namespace {

using quant::TensorType;

std::vector<float> RandomFloats(int64_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> QuantizedRow(TensorType type, const std::vector<float>& x) {
  auto bytes = quant::RowBytes(type, x.size());
  EXPECT_TRUE(bytes.ok());
  std::vector<uint8_t> out(*bytes);
  EXPECT_TRUE(quant::QuantizeRow(type, x, out).ok());
  return out;
}

// x as kernel k takes it for `weight` (its activation layout); plain-path layout by default.
std::vector<uint8_t> Activations(TensorType weight, const std::vector<float>& x, const DotKernel& k = {}) {
  std::vector<uint8_t> out(ActivationRowBytes(ActivationType(weight), x.size()));
  ConvertActivationsFor(k, weight, x.data(), x.size(), out.data());
  return out;
}

struct Case {
  TensorType type;
  std::vector<int64_t> lengths;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {TensorType::kF32, {1, 7, 15, 16, 33, 1003}},
      {TensorType::kF16, {1, 9, 17, 31, 1003}},
      {TensorType::kBF16, {3, 16, 47, 999}},
      {TensorType::kQ8_0, {32, 96, 224, 1504}},
      {TensorType::kQ4_0, {32, 160, 1504}},
      {TensorType::kQ4_1, {32, 224}},
      {TensorType::kQ5_0, {32, 224}},
      {TensorType::kQ5_1, {32, 224}},
      {TensorType::kQ2_K, {256, 768}},
      {TensorType::kQ3_K, {256, 768}},
      {TensorType::kQ4_K, {256, 768, 1792}},
      {TensorType::kQ5_K, {256, 768, 1792}},
      {TensorType::kQ6_K, {256, 768, 1792}},
  };
  return cases;
}

// The kernels available on this CPU for `type`, beyond the plain one.
std::vector<DotKernel> SimdKernels(TensorType type) {
  std::vector<DotKernel> out;
  const CpuFeatures& f = Features();
  if (f.avx2) {
    CpuFeatures avx2_only;
    avx2_only.avx2 = true;
    DotKernel k = SelectDot(type, avx2_only);
    if (std::string_view(k.isa) != "plain") out.push_back(k);
  }
  DotKernel best = SelectDot(type, f);
  if (std::string_view(best.isa) != "plain" && std::string_view(best.isa) != "avx2") out.push_back(best);
  return out;
}

TEST(VecDot, EverySimdKernelMatchesPlainPath) {
  int compared = 0;
  for (const Case& c : Cases()) {
    const DotKernel plain = PlainDot(c.type);
    ASSERT_NE(plain.fn, nullptr) << quant::TypeName(c.type);
    for (int64_t n : c.lengths) {
      for (uint32_t seed = 1; seed <= 3; ++seed) {
        const auto wf = RandomFloats(n, seed * 7919 + n);
        const auto af = RandomFloats(n, seed * 104729 + n, 3.f);
        const auto w = QuantizedRow(c.type, wf);
        const auto a = Activations(c.type, af);
        const float ref = plain.fn(n, w.data(), a.data());
        double magnitude = 0;
        for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(wf[i] * af[i]);
        for (const DotKernel& k : SimdKernels(c.type)) {
          const float got = k.fn(n, w.data(), Activations(c.type, af, k).data());
          EXPECT_NEAR(got, ref, 1e-5 * magnitude + 1e-6)
              << quant::TypeName(c.type) << " n=" << n << " isa=" << k.isa;
          ++compared;
        }
      }
    }
  }
  if (Features().avx2) {
    EXPECT_GE(compared, 80);
  } else {
    GTEST_SKIP() << "no SIMD kernels on this CPU";
  }
}

TEST(VecDot, MultiRowKernelsEqualSingleRowKernels) {
  int checked = 0;
  for (const Case& c : Cases()) {
    const DotKernel k = SelectDot(c.type);
    if (k.multi == nullptr) continue;
    const int64_t n = c.lengths.back();
    const auto w = QuantizedRow(c.type, RandomFloats(n, 99));
    std::vector<std::vector<uint8_t>> acts;
    for (int j = 0; j < kMaxMultiDot; ++j) acts.push_back(Activations(c.type, RandomFloats(n, 200 + j, 2.f), k));
    const size_t stride = acts[0].size();
    std::vector<uint8_t> packed;
    for (const auto& a : acts) packed.insert(packed.end(), a.begin(), a.end());
    for (int count = 1; count <= kMaxMultiDot; ++count) {
      float out[kMaxMultiDot];
      k.multi(n, w.data(), packed.data(), stride, count, out);
      for (int j = 0; j < count; ++j) {
        EXPECT_EQ(out[j], k.fn(n, w.data(), acts[j].data())) << quant::TypeName(c.type) << " count " << count;
        ++checked;
      }
    }
  }
  if (!Features().avx2) GTEST_SKIP() << "no multi-row kernels without AVX2";
  EXPECT_EQ(checked, 5 * 10);
}

TEST(VecDot, PlainPathApproximatesTheFloatDotProduct) {
  // Quantization error bounds: the plain path of each format is close to the exact float dot.
  for (const Case& c : Cases()) {
    const int64_t n = c.lengths.back();
    const auto wf = RandomFloats(n, 11 + n);
    const auto af = RandomFloats(n, 12 + n);
    double exact = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i) {
      exact += static_cast<double>(wf[i]) * af[i];
      magnitude += std::fabs(wf[i] * af[i]);
    }
    const auto w = QuantizedRow(c.type, wf);
    const auto a = Activations(c.type, af);
    const float got = PlainDot(c.type).fn(n, w.data(), a.data());
    const double bound = c.type == TensorType::kF32 ? 1e-6 : c.type == TensorType::kQ2_K ? 0.25 : 0.08;
    EXPECT_NEAR(got, exact, bound * magnitude) << quant::TypeName(c.type);
  }
}

TEST(VecDot, Q8KActivationsFollowTheFormat) {
  auto x = RandomFloats(512, 5);
  x[3] = -9.f;  // the largest magnitude is negative: it must map to -127 exactly
  std::vector<uint8_t> out(ActivationRowBytes(TensorType::kQ8_K, 512));
  ConvertActivations(TensorType::kQ8_K, x.data(), 512, out.data());
  const auto* b = reinterpret_cast<const BlockQ8_K*>(out.data());
  EXPECT_EQ(b[0].qs[3], -127);
  EXPECT_FLOAT_EQ(b[0].d, 9.f / 127.f);
  for (int blk = 0; blk < 2; ++blk) {
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b[blk].qs[g * 16 + j];
      EXPECT_EQ(b[blk].bsums[g], sum);
    }
    for (int j = 0; j < 256; ++j) EXPECT_NEAR(b[blk].d * b[blk].qs[j], x[blk * 256 + j], std::fabs(b[blk].d) * 0.5f + 1e-7);
  }
}

TEST(VecDot, SplitSubBlocksLayoutInterleavesSubBlocksAndSumsThem) {
  const auto x = RandomFloats(512, 9);
  std::vector<uint8_t> standard(ActivationRowBytes(TensorType::kQ8_K, 512));
  ConvertActivations(TensorType::kQ8_K, x.data(), 512, standard.data());
  std::vector<uint8_t> split = standard;
  ApplyActivationLayout(ActivationLayout::kQ8KSplitSubBlocks, 512, split.data());
  for (int blk = 0; blk < 2; ++blk) {
    const auto& s = reinterpret_cast<const BlockQ8_K*>(standard.data())[blk];
    const auto& p = reinterpret_cast<const BlockQ8_K*>(split.data())[blk];
    EXPECT_EQ(p.d, s.d);
    // Element e of sub-block sb sits in 64-byte register 2 * (sb / 4) + e / 16, in the 16-byte piece
    // of its sub-block: 0, 2, 1, 3 → pieces 0, 1, 2, 3.
    constexpr int kPiece[4] = {0, 2, 1, 3};
    for (int sb = 0; sb < 8; ++sb) {
      for (int e = 0; e < 32; ++e) {
        const int at = 64 * (2 * (sb / 4) + e / 16) + 16 * kPiece[sb % 4] + e % 16;
        ASSERT_EQ(p.qs[at], s.qs[32 * sb + e]) << "sub-block " << sb << " element " << e;
      }
    }
    float scaled_sums[8];  // in place of bsums: d * sum of each sub-block
    std::memcpy(scaled_sums, p.bsums, sizeof(scaled_sums));
    for (int sb = 0; sb < 8; ++sb) {
      int sum = 0;
      for (int j = 0; j < 32; ++j) sum += s.qs[32 * sb + j];
      EXPECT_EQ(scaled_sums[sb], s.d * static_cast<float>(sum)) << sb;
    }
  }
  std::vector<uint8_t> unchanged = standard;
  ApplyActivationLayout(ActivationLayout::kStandard, 512, unchanged.data());
  EXPECT_EQ(unchanged, standard);
}

TEST(VecDot, Q8_0ActivationsEqualTheReferenceQuantizer) {
  // The gguf helper's quantizer reproduces llama.cpp's reference Q8_0 bytes; ours must agree.
  const auto x = RandomFloats(32 * 9, 77);
  std::vector<uint8_t> ours(ActivationRowBytes(TensorType::kQ8_0, x.size()));
  ConvertActivations(TensorType::kQ8_0, x.data(), x.size(), ours.data());
  EXPECT_EQ(ours, QuantizedRow(TensorType::kQ8_0, x));
}

TEST(VecDot, SimdActivationQuantizersEqualThePlainOnes) {
  if (!Features().avx2) GTEST_SKIP() << "no SIMD quantizers without AVX2";
  CpuFeatures plain;  // no SIMD
  for (uint32_t seed = 0; seed < 20; ++seed) {
    auto x = RandomFloats(256 * 6, seed, seed % 2 ? 1e-3f : 40.f);
    // Rounding ties (x * scale exactly k + 0.5 for the block maximum 127), a zero block, equal
    // magnitudes of both signs (the first one sets the Q8_K scale's sign), a lone negative maximum.
    for (int j = 0; j < 256; ++j) x[j] = static_cast<float>(j % 64 - 32) + 0.5f;
    x[0] = 127.f;
    std::fill(x.begin() + 256, x.begin() + 512, 0.f);
    x[512 + 7] = 50.f;
    x[512 + 3] = -50.f;
    x[768 + 200] = -1e4f;
    for (TensorType act : {TensorType::kQ8_0, TensorType::kQ8_K}) {
      std::vector<uint8_t> simd(ActivationRowBytes(act, x.size())), ref(simd.size());
      ConvertActivations(act, x.data(), x.size(), simd.data());
      ConvertActivations(act, x.data(), x.size(), ref.data(), plain);
      EXPECT_EQ(simd, ref) << quant::TypeName(act) << " seed " << seed;
    }
  }
}

TEST(VecDot, AttentionHelpersMatchScalar) {
  for (int64_t n : {1, 7, 64, 129}) {
    const auto q = RandomFloats(n, 3);
    const auto kf = RandomFloats(n, 4);
    std::vector<uint16_t> k(n);
    for (int64_t i = 0; i < n; ++i) k[i] = quant::FloatToFp16(kf[i]);
    double ref = 0;
    for (int64_t i = 0; i < n; ++i) ref += q[i] * quant::Fp16ToFloat(k[i]);
    EXPECT_NEAR(DotF32F16(n, q.data(), k.data()), ref, 1e-4);
    std::vector<float> out(n, 1.f);
    AxpyF16(n, 0.5f, k.data(), out.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(out[i], 1.f + 0.5f * quant::Fp16ToFloat(k[i]), 1e-6);
  }
}

TEST(VecDot, UnsupportedTypesHaveNoKernel) {
  EXPECT_FALSE(IsDotSupported(TensorType::kIQ2_XXS));
  EXPECT_EQ(SelectDot(TensorType::kIQ2_XXS).fn, nullptr);
}

}  // namespace
}  // namespace dv::cpu
