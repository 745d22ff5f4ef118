// Tile kernels (weight rows × activation rows) against single dot products (bit-identical) and
// against the plain C++ path (dequantize + double sum), including raw weight blocks with every
// quant value and saturated activations (±127), which reach the int16 limits the AVX-512 VNNI
// kernels rely on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "engine/cpu/vec_dot.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quantize.h"

namespace dv::cpu {
namespace {

using quant::TensorType;

constexpr TensorType kTileTypes[] = {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_K, TensorType::kQ5_K,
                                     TensorType::kQ6_K};

size_t RowBytes(TensorType type, int64_t n) { return *quant::RowBytes(type, n); }

// Random bytes for a whole row, with every fp16 scale field replaced by a finite value in
// [0.001, 0.05): all quant values and sub-block scales appear, as in any real file.
std::vector<uint8_t> RawRow(TensorType type, int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> row(RowBytes(type, n));
  for (auto& b : row) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  auto set_fp16 = [&](uint8_t* p) {
    const uint16_t h = quant::FloatToFp16(scale(rng));
    std::memcpy(p, &h, 2);
  };
  const auto& traits = quant::Traits(type);
  for (size_t off = 0; off < row.size(); off += traits.block_bytes) {
    uint8_t* blk = row.data() + off;
    switch (type) {
      case TensorType::kQ8_0:
      case TensorType::kQ4_0: set_fp16(blk); break;
      case TensorType::kQ4_K:
      case TensorType::kQ5_K: set_fp16(blk), set_fp16(blk + 2); break;
      case TensorType::kQ6_K: set_fp16(blk + offsetof(quant::BlockQ6_K, d)); break;
      default: ADD_FAILURE() << "no raw layout for " << quant::TypeName(type);
    }
  }
  return row;
}

// Activations whose every block saturates: values ±1 (sign random), so all quants are ±127.
std::vector<float> SaturatedFloats(int64_t n, std::mt19937& rng) {
  std::vector<float> v(n);
  for (auto& x : v) x = (rng() & 1) ? 1.f : -1.f;
  return v;
}

std::vector<float> NormalFloats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.f, 2.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// x as kernel k takes it for `weight` (its activation layout).
std::vector<uint8_t> Activations(const DotKernel& k, TensorType weight, const std::vector<float>& x) {
  std::vector<uint8_t> out(ActivationRowBytes(ActivationType(weight), x.size()));
  ConvertActivationsFor(k, weight, x.data(), x.size(), out.data());
  return out;
}

// Lengths with odd block counts and 1, 3, 7 super-blocks. 1056 and 1536 (33 and 48 blocks) span two
// of the AVX-512 Q8_0/Q4_0 prefill tiles' 32-block scale tables, the second with one and with 16 blocks.
std::vector<int64_t> Lengths(TensorType type) {
  if (quant::Traits(type).block_size == 32) return {32, 96, 224, 1056, 1536};
  return {256, 768, 1792};
}

TEST(DotTile, EveryShapeEqualsSingleDotsAndPlainPath) {
  int tiles = 0;
  for (TensorType type : kTileTypes) {
    const DotKernel k = SelectDot(type);
    if (k.tile == nullptr) continue;
    const DotKernel plain = PlainDot(type);
    std::mt19937 rng(static_cast<uint32_t>(type) * 31 + 7);
    for (int64_t n : Lengths(type)) {
      const size_t w_bytes = RowBytes(type, n);
      const size_t a_bytes = ActivationRowBytes(ActivationType(type), n);
      std::vector<uint8_t> w, a, a_plain;  // activations in k's layout and in the plain path's
      for (int r = 0; r < kMaxTileRows; ++r) {
        const auto row = RawRow(type, n, rng);
        w.insert(w.end(), row.begin(), row.end());
      }
      for (int t = 0; t < kMaxTileActs; ++t) {
        const auto x = (t % 3 == 0) ? SaturatedFloats(n, rng) : NormalFloats(n, rng);
        const auto act = Activations(k, type, x);
        a.insert(a.end(), act.begin(), act.end());
        const auto act_plain = Activations(plain, type, x);
        a_plain.insert(a_plain.end(), act_plain.begin(), act_plain.end());
      }
      std::vector<float> wf(n), af(n);
      for (int n_rows = 1; n_rows <= kMaxTileRows; ++n_rows) {
        for (int n_act = 1; n_act <= kMaxTileActs; ++n_act) {
          const size_t out_stride = 5;
          std::vector<float> out(kMaxTileActs * out_stride, -7.f);
          k.tile(n, w.data(), w_bytes, n_rows, a.data(), a_bytes, n_act, out.data(), out_stride);
          ++tiles;
          for (int t = 0; t < kMaxTileActs; ++t) {
            for (size_t r = 0; r < out_stride; ++r) {
              const float got = out[t * out_stride + r];
              if (t >= n_act || static_cast<int>(r) >= n_rows) {
                ASSERT_EQ(got, -7.f) << "tile wrote outside its " << n_rows << "x" << n_act << " block";
                continue;
              }
              const uint8_t* wr = w.data() + r * w_bytes;
              const uint8_t* at = a.data() + t * a_bytes;
              ASSERT_EQ(got, k.fn(n, wr, at)) << quant::TypeName(type) << " n=" << n << " tile " << n_rows << "x"
                                              << n_act << " r=" << r << " t=" << t;
              if (n_rows == 1 && n_act == 1) {
                // Tolerance from the magnitude of the dequantized terms (float accumulation).
                ASSERT_TRUE(quant::DequantizeRow(type, {wr, w_bytes}, wf).ok());
                const float ref = plain.fn(n, wr, a_plain.data() + t * a_bytes);
                double magnitude = 0;
                for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(wf[i]) * 130.0;
                magnitude *= ActivationType(type) == TensorType::kQ8_K
                                 ? std::fabs(reinterpret_cast<const BlockQ8_K*>(at)->d)
                                 : quant::Fp16ToFloat(reinterpret_cast<const quant::BlockQ8_0*>(at)->d);
                EXPECT_NEAR(got, ref, 1e-5 * magnitude + 1e-6) << quant::TypeName(type) << " n=" << n << " t=" << t;
              }
            }
          }
        }
      }
    }
  }
  if (tiles == 0) GTEST_SKIP() << "no tile kernels on this CPU (" << Features().ToString() << ")";
  EXPECT_EQ(tiles, (5 + 5 + 3 + 3 + 3) * kMaxTileRows * kMaxTileActs);  // lengths per type × shapes
}

// Decode calls one tile for a whole chunk of rows against one activation row.
TEST(DotTile, OneActivationRowTakesAnyNumberOfRows) {
  int runs = 0;
  for (TensorType type : kTileTypes) {
    const DotKernel k = SelectDot(type);
    if (k.tile == nullptr) continue;
    std::mt19937 rng(static_cast<uint32_t>(type) * 17 + 3);
    const int64_t n = quant::Traits(type).block_size == 32 ? 96 : 512;
    const size_t w_bytes = RowBytes(type, n);
    constexpr int kRows = 37;  // more than kMaxTileRows, not a multiple of it
    std::vector<uint8_t> w;
    for (int r = 0; r < kRows; ++r) {
      const auto row = RawRow(type, n, rng);
      w.insert(w.end(), row.begin(), row.end());
    }
    const auto a = Activations(k, type, NormalFloats(n, rng));
    std::vector<float> out(kRows + 1, -7.f);
    k.tile(n, w.data(), w_bytes, kRows, a.data(), a.size(), 1, out.data(), kRows);
    for (int r = 0; r < kRows; ++r) {
      ASSERT_EQ(out[r], k.fn(n, w.data() + r * w_bytes, a.data())) << quant::TypeName(type) << " row " << r;
    }
    EXPECT_EQ(out[kRows], -7.f) << "wrote past the last row";
    ++runs;
  }
  if (runs == 0) GTEST_SKIP() << "no tile kernels on this CPU (" << Features().ToString() << ")";
}

TEST(DotTile, Avx512KernelsAreSelectedWhenAvailable) {
  const CpuFeatures& f = Features();
  for (TensorType type : kTileTypes) {
    const DotKernel k = SelectDot(type, f);
    if (f.avx512_vnni) {
      EXPECT_EQ(std::string_view(k.isa), "avx512") << quant::TypeName(type);
      EXPECT_NE(k.tile, nullptr);
    }
    CpuFeatures avx2_only;
    avx2_only.avx2 = true;
    EXPECT_EQ(SelectDot(type, avx2_only).tile, nullptr) << "AVX2 kernels have no tile form";
  }
  if (!f.avx512_vnni) GTEST_SKIP() << "CPU without AVX-512 VNNI: " << f.ToString();
}

}  // namespace
}  // namespace dv::cpu
