// Quantizers against llama.cpp's llama-quantize output for the same F16 tensors
// (../shared/fixtures/llamacpp-oracle): byte equality for the reference formats Q8_0 and Q4_0,
// reconstruction error for the K-quants.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quantize.h"
#include "oracle.h"

namespace dv::quant {
namespace {

using namespace dv::quant::testing;

std::vector<uint8_t> Quantized(TensorType type, const std::vector<float>& x, uint64_t row_length) {
  const uint64_t row_bytes = *RowBytes(type, row_length);
  const size_t rows = x.size() / row_length;
  std::vector<uint8_t> out(rows * row_bytes);
  for (size_t r = 0; r < rows; ++r) {
    const Status s = QuantizeRow(type, std::span(x).subspan(r * row_length, row_length),
                                 std::span(out).subspan(r * row_bytes, row_bytes));
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return out;
}

std::vector<float> RoundTrip(TensorType type, const std::vector<float>& x, uint64_t row_length) {
  const std::vector<uint8_t> q = Quantized(type, x, row_length);
  std::vector<float> y(x.size());
  EXPECT_TRUE(DequantizeRow(type, q, y).ok());
  return y;
}

class QuantizeOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (OraclePath("f16").empty()) GTEST_SKIP() << "../shared/" << kOracleDir << " is absent";
    auto f = gguf::GgufFile::Open(OraclePath("f16"));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    f16_ = std::make_unique<gguf::GgufFile>(std::move(f).value());
  }
  std::vector<float> Source(std::string_view name) { return Dequantized(**f16_->GetTensor(name)); }
  std::unique_ptr<gguf::GgufFile> f16_;
};

TEST_F(QuantizeOracle, Q8_0AndQ4_0BytesEqualLlamaCpp) {
  int compared = 0;
  for (const std::string file : {"q8_0", "q4_0"}) {
    auto q = gguf::GgufFile::Open(OraclePath(file));
    ASSERT_TRUE(q.ok());
    for (const gguf::TensorInfo& t : q->tensors()) {
      if (t.type != TensorType::kQ8_0 && t.type != TensorType::kQ4_0) continue;
      SCOPED_TRACE(file + " " + std::string(t.name));
      const std::vector<uint8_t> mine = Quantized(t.type, Source(t.name), t.ne[0]);
      ASSERT_EQ(mine.size(), t.n_bytes);
      size_t first_diff = 0;
      while (first_diff < mine.size() && mine[first_diff] == t.data[first_diff]) ++first_diff;
      EXPECT_EQ(first_diff, mine.size()) << "first differing byte " << first_diff;
      ++compared;
    }
  }
  // Each file holds at least the 14 per-layer weight matrices in its own type.
  EXPECT_GE(compared, 28);
  std::printf("  compared %d tensors byte for byte\n", compared);
}

// For every K-quant tensor llama-quantize wrote, our quantizer's error on the same F16 source is
// at most 1.1x llama.cpp's (measured in plain RMS; llama.cpp minimises an |x|-weighted error).
TEST_F(QuantizeOracle, KQuantErrorWithinTenPercentOfLlamaCpp) {
  std::map<TensorType, std::pair<double, double>> sums;  // type -> (ours, theirs) summed rel. errors
  std::map<TensorType, int> counts;
  for (const std::string file : {"q4_k_m", "q5_k_m", "q6_k"}) {
    auto q = gguf::GgufFile::Open(OraclePath(file));
    ASSERT_TRUE(q.ok());
    for (const gguf::TensorInfo& t : q->tensors()) {
      if (t.type != TensorType::kQ4_K && t.type != TensorType::kQ5_K && t.type != TensorType::kQ6_K) continue;
      SCOPED_TRACE(file + " " + std::string(t.name) + " " + TypeName(t.type));
      const std::vector<float> src = Source(t.name);
      const double theirs = RelativeRmsError(Dequantized(t), src);
      const double ours = RelativeRmsError(RoundTrip(t.type, src, t.ne[0]), src);
      EXPECT_LE(ours, 1.1 * theirs) << "ours " << ours << " theirs " << theirs;
      sums[t.type].first += ours;
      sums[t.type].second += theirs;
      ++counts[t.type];
    }
  }
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [type, s] : sums) {
    std::printf("  %-4s %2d tensors: mean relative RMS error ours %.5f, llama.cpp %.5f\n", TypeName(type).c_str(),
                counts[type], s.first / counts[type], s.second / counts[type]);
  }
}

// Formats without a llama.cpp file among the fixtures: error bounds on the same real tensors
// (uniform-quantizer estimates as in dequantize_test.cc, with room above what we reach), on the
// matrices outside layer 1 (keeps the sanitizer build fast).
TEST_F(QuantizeOracle, OtherFormatsReconstructWithinTheirBitBudget) {
  const std::map<TensorType, double> bound = {
      {TensorType::kQ2_K, 0.40}, {TensorType::kQ3_K, 0.22}, {TensorType::kQ4_1, 0.12},
      {TensorType::kQ5_0, 0.07}, {TensorType::kQ5_1, 0.06}, {TensorType::kF16, 0.0},
      {TensorType::kBF16, 0.004}};
  for (const auto& [type, max_err] : bound) {
    double worst = 0;
    for (const gguf::TensorInfo& t : f16_->tensors()) {
      if (t.n_dims != 2 || t.name.rfind("blk.1.", 0) == 0) continue;
      const std::vector<float> src = Source(t.name);
      const double err = RelativeRmsError(RoundTrip(type, src, t.ne[0]), src);
      EXPECT_LE(err, max_err) << TypeName(type) << " " << t.name;
      worst = std::max(worst, err);
    }
    std::printf("  %-5s worst relative RMS error %.5f\n", TypeName(type).c_str(), worst);
  }
}

// The legacy quantizers round each value to the nearest level: away from the clamped extremes,
// every reconstructed value is within half a step (plus the fp16 rounding of the scale).
TEST(Quantize, LegacyFormatsRoundToNearestLevel) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = normal(rng);
  for (TensorType type : {TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1,
                          TensorType::kQ8_0}) {
    const std::vector<uint8_t> q = Quantized(type, x, x.size());
    std::vector<float> y(x.size());
    ASSERT_TRUE(DequantizeRow(type, q, y).ok());
    for (size_t b = 0; b < x.size() / 32; ++b) {
      uint16_t d_bits;
      std::memcpy(&d_bits, q.data() + b * Traits(type).block_bytes, 2);
      const float step = std::fabs(Fp16ToFloat(d_bits));
      // Q4_0 and Q5_0 map the extreme value to the lowest level -8 (-16); values of the other sign
      // beyond the highest level 7 (15) are clamped, so they are exempt.
      const float top = type == TensorType::kQ4_0 ? 7.5f : type == TensorType::kQ5_0 ? 15.5f : 1e9f;
      for (size_t j = b * 32; j < b * 32 + 32; ++j) {
        if (std::fabs(x[j]) > top * step) continue;
        // Relative fp16 error of the scale (2^-11) times the largest level (31 or 127) bounds drift.
        EXPECT_LE(std::fabs(y[j] - x[j]), 0.5f * step + 128 * step / 2048 + 1e-3f) << TypeName(type) << " " << j;
      }
    }
  }
}

TEST(Quantize, KQuantsHandleDegenerateBlocks) {
  for (TensorType type : {TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,
                          TensorType::kQ6_K, TensorType::kQ4_0, TensorType::kQ8_0}) {
    SCOPED_TRACE(TypeName(type));
    const std::vector<float> zeros(256, 0.0f);
    EXPECT_EQ(RoundTrip(type, zeros, 256), zeros);
    const std::vector<float> spike = [] {
      std::vector<float> v(256, 0.0f);
      v[77] = -3.0f;
      return v;
    }();
    const std::vector<float> y = RoundTrip(type, spike, 256);
    EXPECT_NEAR(y[77], -3.0f, 0.01f);
    EXPECT_NEAR(y[76], 0.0f, 0.01f);  // affine formats reach zero only up to their scale rounding
    const std::vector<float> positive(256, 0.25f);  // constant positive: the min term must handle it
    for (float v : RoundTrip(type, positive, 256)) EXPECT_NEAR(v, 0.25f, 0.01f);
  }
}

TEST(Quantize, RejectsBadArguments) {
  std::vector<float> x(32, 1.0f);
  std::vector<uint8_t> out(34);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(QuantizeRow(TensorType::kQ8_0, x, out).message(), "cannot quantize a non-finite value (element 5)");
  x[5] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(QuantizeRow(TensorType::kQ8_0, x, out).ok());
  x[5] = 1.0f;
  EXPECT_EQ(QuantizeRow(TensorType::kQ8_0, x, std::span(out).first(33)).message(),
            "quantizing 32 elements to Q8_0 needs 34 output bytes, got 33");
  EXPECT_FALSE(QuantizeRow(TensorType::kQ4_K, x, out).ok());  // 32 is not a multiple of 256
  EXPECT_EQ(QuantizeRow(TensorType::kIQ2_XS, x, out).code(), StatusCode::kUnimplemented);
  EXPECT_FALSE(CanQuantize(TensorType::kQ8_K));
}

TEST(TensorTypes, NamesAndSizes) {
  EXPECT_EQ(TypeName(TensorType::kQ4_K), "Q4_K");
  EXPECT_EQ(*ParseTypeName("q4_k"), TensorType::kQ4_K);
  EXPECT_EQ(*ParseTypeName("BF16"), TensorType::kBF16);
  EXPECT_FALSE(ParseTypeName("q4_k_m").ok());
  EXPECT_EQ(*RowBytes(TensorType::kQ6_K, 4096), 16u * 210);
  EXPECT_FALSE(RowBytes(TensorType::kQ8_0, 33).ok());
  EXPECT_FALSE(TraitsForId(4).has_value());  // Q4_2, removed from ggml
  EXPECT_EQ(TraitsForId(30)->type, TensorType::kBF16);
  EXPECT_FALSE(TraitsForId(17)->supported);
}

}  // namespace
}  // namespace dv::quant
