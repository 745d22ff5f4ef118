// Panel kernels (weight rows × an 8-token activation panel) against the single dot products and the
// plain C++ path, with raw weight blocks holding every quant value and scale, rows of the largest
// values and saturated activations (±127): the int16 steps of the kernels reach their limits there.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "engine/cpu/activation_panel.h"
#include "engine/cpu/vec_dot.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quantize.h"

namespace dv::cpu {
namespace {

using quant::TensorType;

// Random bytes with finite fp16 scales in [0.001, 0.05); `largest` sets every quant and sub-block
// scale to its largest magnitude instead (Q4_K: 15 and 63; Q6_K: 63 and -128).
std::vector<uint8_t> RawRow(TensorType type, int64_t n, bool largest, std::mt19937& rng) {
  std::vector<uint8_t> row(*quant::RowBytes(type, n));
  for (auto& b : row) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  auto set_fp16 = [&](uint8_t* p) {
    const uint16_t h = quant::FloatToFp16(scale(rng));
    std::memcpy(p, &h, 2);
  };
  for (size_t off = 0; off < row.size(); off += quant::Traits(type).block_bytes) {
    uint8_t* blk = row.data() + off;
    if (type == TensorType::kQ4_K) {
      if (largest) std::memset(blk + 4, 0xFF, sizeof(quant::BlockQ4_K) - 4);
      set_fp16(blk), set_fp16(blk + 2);
    } else {
      auto* b = reinterpret_cast<quant::BlockQ6_K*>(blk);
      if (largest) {
        std::memset(b->ql, 0xFF, sizeof b->ql);
        std::memset(b->qh, 0xFF, sizeof b->qh);
        std::memset(b->scales, 0x80, sizeof b->scales);
      }
      set_fp16(blk + offsetof(quant::BlockQ6_K, d));
    }
  }
  return row;
}

std::vector<float> Floats(int64_t n, bool saturated, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.f, 2.f);
  std::vector<float> v(n);
  for (auto& x : v) x = saturated ? ((rng() & 1) ? 1.f : -1.f) : dist(rng);
  return v;
}

TEST(DotPanel, EveryShapeAgreesWithSingleDotsAndPlainPath) {
  int panels = 0;
  for (TensorType type : {TensorType::kQ4_K, TensorType::kQ6_K}) {
    const DotKernel k = SelectDot(type);
    if (k.panel == nullptr) continue;
    const DotKernel plain = PlainDot(type);
    std::mt19937 rng(static_cast<uint32_t>(type) * 13 + 5);
    for (int64_t n : {256, 768, 1792}) {
      constexpr int kRows = 9;  // two groups of four and a remainder
      const size_t w_bytes = *quant::RowBytes(type, n);
      const size_t a_bytes = ActivationRowBytes(TensorType::kQ8_K, n);
      std::vector<uint8_t> w, a_std, a_fn;  // Q8_K rows: standard layout (panels) and k.fn's layout
      for (int r = 0; r < kRows; ++r) {
        const auto row = RawRow(type, n, r == 0 || r == 5, rng);
        w.insert(w.end(), row.begin(), row.end());
      }
      for (int t = 0; t < kPanelTokens; ++t) {
        const auto x = Floats(n, t % 3 == 0, rng);
        std::vector<uint8_t> std_row(a_bytes), fn_row(a_bytes);
        ConvertActivations(TensorType::kQ8_K, x.data(), n, std_row.data());
        ConvertActivationsFor(k, type, x.data(), n, fn_row.data());
        a_std.insert(a_std.end(), std_row.begin(), std_row.end());
        a_fn.insert(a_fn.end(), fn_row.begin(), fn_row.end());
      }
      std::map<std::pair<int, int>, float> first;  // (r, t) → the result of the first shape
      std::vector<float> wf(n);
      for (int n_act = 1; n_act <= kPanelTokens; ++n_act) {
        std::vector<uint8_t> panel(PanelBytes(k.panel_layout, n));
        BuildActivationPanel(k.panel_layout, n, a_std.data(), a_bytes, n_act, panel.data());
        for (int n_rows : {1, 3, 4, kRows}) {
          const size_t out_stride = kRows + 2;
          std::vector<float> out(kPanelTokens * out_stride, -7.f);
          k.panel(n, w.data(), w_bytes, n_rows, panel.data(), n_act, out.data(), out_stride);
          ++panels;
          for (int t = 0; t < kPanelTokens; ++t) {
            for (size_t r = 0; r < out_stride; ++r) {
              const float got = out[t * out_stride + r];
              if (t >= n_act || static_cast<int>(r) >= n_rows) {
                ASSERT_EQ(got, -7.f) << "panel wrote outside its " << n_rows << "x" << n_act << " block";
                continue;
              }
              const auto [it, inserted] = first.try_emplace({static_cast<int>(r), t}, got);
              ASSERT_EQ(got, it->second) << "result depends on the panel's shape: " << quant::TypeName(type)
                                         << " n=" << n << " r=" << r << " t=" << t << " n_act=" << n_act;
              if (!inserted) continue;
              // Tolerance from the magnitude of the dequantized terms (float accumulation).
              const uint8_t* wr = w.data() + r * w_bytes;
              ASSERT_TRUE(quant::DequantizeRow(type, {wr, w_bytes}, wf).ok());
              const auto* y = reinterpret_cast<const BlockQ8_K*>(a_std.data() + t * a_bytes);
              double magnitude = 0;
              for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(wf[i]) * 130.0 * std::fabs(y[i / 256].d);
              const float single = k.fn(n, wr, a_fn.data() + t * a_bytes);
              const float ref = plain.fn(n, wr, a_std.data() + t * a_bytes);
              EXPECT_NEAR(got, single, 1e-6 * magnitude + 1e-6) << quant::TypeName(type) << " n=" << n << " r=" << r << " t=" << t;
              EXPECT_NEAR(got, ref, 1e-6 * magnitude + 1e-6) << quant::TypeName(type) << " n=" << n << " r=" << r << " t=" << t;
            }
          }
        }
      }
    }
  }
  if (panels == 0) GTEST_SKIP() << "no panel kernels on this CPU (" << Features().ToString() << ")";
  EXPECT_EQ(panels, 2 * 3 * kPanelTokens * 4);
}

TEST(DotPanel, PanelBytesCoverEverySuperBlock) {
  EXPECT_EQ(PanelBytes(PanelLayout::kQ8KForQ4K, 1536), 6u * (2048 + 128 + 64));
  EXPECT_EQ(PanelBytes(PanelLayout::kQ8KForQ6K, 1536), 6u * (2048 + 256 + 64));
}

}  // namespace
}  // namespace dv::cpu
