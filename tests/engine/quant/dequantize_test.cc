// Dequantization of llama.cpp's own quantized tensors, checked against the F16 tensors they were
// quantized from (../shared/fixtures/llamacpp-oracle, made by llama-quantize).
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"
#include "oracle.h"

namespace dv::quant {
namespace {

using namespace dv::quant::testing;

// Upper bounds of RMS(dequantized - F16) / RMS(F16) per type. A b-bit uniform quantizer over a
// block's range R has RMS error about R / (2^b * sqrt(12)); for Gaussian-like weights R is about
// 4.5 standard deviations over 32 values, giving ~0.8% (8 bit), ~3% (6), ~6% (5), ~12% (4).
// The bounds leave room above what llama.cpp's files reach (printed by the test).
const std::map<TensorType, double> kMaxRelativeError = {
    {TensorType::kF32, 0.0},      {TensorType::kQ8_0, 0.01}, {TensorType::kQ6_K, 0.04},
    {TensorType::kQ5_K, 0.07},    {TensorType::kQ4_K, 0.13}, {TensorType::kQ4_0, 0.15},
};

TEST(Dequantize, LlamaCppTensorsMatchTheirF16Source) {
  const auto f16_path = OraclePath("f16");
  if (f16_path.empty()) GTEST_SKIP() << "../shared/" << kOracleDir << " is absent";
  auto f16 = gguf::GgufFile::Open(f16_path);
  ASSERT_TRUE(f16.ok()) << f16.status().ToString();
  std::map<TensorType, double> worst;
  for (const std::string& name : OracleQuantizedFiles()) {
    auto q = gguf::GgufFile::Open(OraclePath(name));
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    for (const gguf::TensorInfo& t : q->tensors()) {
      SCOPED_TRACE(name + " " + std::string(t.name) + " " + TypeName(t.type));
      const gguf::TensorInfo* ref = f16->FindTensor(t.name);
      ASSERT_NE(ref, nullptr);
      ASSERT_EQ(ref->ne, t.ne);
      const std::vector<float> want = Dequantized(*ref);
      const std::vector<float> got = Dequantized(t);
      const double err = RelativeRmsError(got, want);
      ASSERT_TRUE(kMaxRelativeError.count(t.type)) << "unexpected type in oracle file";
      EXPECT_LE(err, kMaxRelativeError.at(t.type));
      worst[t.type] = std::max(worst[t.type], err);
    }
  }
  for (const auto& [type, err] : worst) {
    std::printf("  %-5s worst relative RMS error vs F16: %.5f\n", TypeName(type).c_str(), err);
  }
  EXPECT_EQ(worst.size(), 6u);  // F32, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K all seen
}

TEST(Dequantize, F16AndBf16Rows) {
  const uint16_t halves[] = {0x3C00, 0xC000, 0x3555, 0x0001};
  std::vector<float> out(4);
  ASSERT_TRUE(DequantizeRow(TensorType::kF16, {reinterpret_cast<const uint8_t*>(halves), 8}, out).ok());
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f, 0.333251953125f, 5.9604644775390625e-8f}));
  const uint16_t bf[] = {0x3F80, 0xC040};
  std::vector<float> out2(2);
  ASSERT_TRUE(DequantizeRow(TensorType::kBF16, {reinterpret_cast<const uint8_t*>(bf), 4}, out2).ok());
  EXPECT_EQ(out2, (std::vector<float>{1.0f, -3.0f}));
}

// Blocks assembled field by field from the format definition.
TEST(Dequantize, HandBuiltLegacyBlocks) {
  {
    BlockQ4_0 b;
    b.d = FloatToFp16(0.5f);
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    std::vector<float> y(32);
    ASSERT_TRUE(DequantizeRow(TensorType::kQ4_0, {reinterpret_cast<const uint8_t*>(&b), sizeof b}, y).ok());
    EXPECT_EQ(y[0], -4.0f);   // (0 - 8) * 0.5
    EXPECT_EQ(y[15], 3.5f);   // (15 - 8) * 0.5
    EXPECT_EQ(y[16], 3.5f);   // high nibble of qs[0]
    EXPECT_EQ(y[31], -4.0f);
  }
  {
    BlockQ5_1 b;
    b.d = FloatToFp16(2.0f);
    b.m = FloatToFp16(-10.0f);
    std::memset(b.qs, 0, sizeof b.qs);
    const uint32_t qh = (1u << 3) | (1u << 20);  // fifth bit of elements 3 and 20
    std::memcpy(b.qh, &qh, 4);
    b.qs[3] = 0x01;
    b.qs[4] = 0x20;  // element 20 = high nibble of qs[4]
    std::vector<float> y(32);
    ASSERT_TRUE(DequantizeRow(TensorType::kQ5_1, {reinterpret_cast<const uint8_t*>(&b), sizeof b}, y).ok());
    EXPECT_EQ(y[0], -10.0f);
    EXPECT_EQ(y[3], 17 * 2.0f - 10.0f);
    EXPECT_EQ(y[20], 18 * 2.0f - 10.0f);
  }
}

TEST(Dequantize, RejectsBadArguments) {
  std::vector<uint8_t> src(18);
  std::vector<float> out(32);
  EXPECT_EQ(DequantizeRow(TensorType::kQ4_0, std::span(src).first(17), out).message(),
            "row of 32 Q4_0 elements needs 18 bytes, got 17");
  std::vector<float> odd(31);
  EXPECT_FALSE(DequantizeRow(TensorType::kQ4_0, src, odd).ok());
  EXPECT_EQ(DequantizeRow(TensorType::kIQ2_XS, src, out).code(), StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace dv::quant
