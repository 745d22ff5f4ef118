#include "engine/cpu/activation_panel.h"

#include <cstring>

namespace dv::cpu {
namespace {

using quant::kSuperBlockSize;

// Elements per sub-block whose sums the panel carries: 32 (Q4_K) or 16 (Q6_K).
int SubBlock(PanelLayout layout) { return layout == PanelLayout::kQ8KForQ4K ? 32 : 16; }

// Registers of sub-block sum pairs: two pairs of each token per register.
int PairRegisters(PanelLayout layout) { return kSuperBlockSize / SubBlock(layout) / 4; }

}  // namespace

size_t PanelBytesPerSuperBlock(PanelLayout layout) {
  return kPanelQuantBytes + static_cast<size_t>(PairRegisters(layout)) * 64 + kPanelScaleBytes;
}

size_t PanelBytes(PanelLayout layout, int64_t n) {
  return static_cast<size_t>(n / kSuperBlockSize) * PanelBytesPerSuperBlock(layout);
}

void BuildActivationPanel(PanelLayout layout, int64_t n, const uint8_t* a, size_t a_stride, int n_act,
                          uint8_t* panel) {
  const int sub_block = SubBlock(layout), n_sub = kSuperBlockSize / sub_block;
  const size_t sb_bytes = PanelBytesPerSuperBlock(layout);
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    uint8_t* p = panel + i * sb_bytes;
    std::memset(p, 0, sb_bytes);
    auto* pairs = reinterpret_cast<int16_t*>(p + kPanelQuantBytes);
    auto* dy = reinterpret_cast<float*>(p + kPanelQuantBytes + PairRegisters(layout) * 64);
    for (int t = 0; t < n_act; ++t) {
      const BlockQ8_K& y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride)[i];
      for (int gp = 0; gp < kSuperBlockSize / 8; ++gp) std::memcpy(p + 64 * gp + 8 * t, y.qs + 8 * gp, 8);
      // Sub-block sums, natural sub-block order, as pairs (2pi, 2pi + 1), pi = 2k + half in
      // register k (activation_panel.h).
      int sums[16];
      for (int j = 0; j < n_sub; ++j) {
        sums[j] = sub_block == 16 ? y.bsums[j] : y.bsums[2 * j] + y.bsums[2 * j + 1];
      }
      for (int k = 0; k < PairRegisters(layout); ++k) {
        for (int half = 0; half < 2; ++half) {
          const int lane = 2 * t + half, pi = 2 * k + half;
          pairs[k * 32 + 2 * lane] = static_cast<int16_t>(sums[2 * pi]);
          pairs[k * 32 + 2 * lane + 1] = static_cast<int16_t>(sums[2 * pi + 1]);
          dy[lane] = y.d;
        }
      }
    }
  }
}

}  // namespace dv::cpu
