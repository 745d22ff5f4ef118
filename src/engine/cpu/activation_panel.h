// Activation panels: kPanelTokens rows of Q8_K activations interleaved so that one 512-bit register
// holds the same 8 elements of every token. The panel kernels (vec_dot_avx512_panel.cc) broadcast
// 8 weights to all 16 lanes and multiply them with such a register: every VPDPBUSD does 64 useful
// products for 8 tokens at once, and the per-(row, super-block) scale work is shared by the tokens
// instead of repeated per token (the tiles' cost for the batched decode of a server).
//
// Byte layout of one super-block (256 elements) of a panel:
//   quants  [32][64] int8: group pair gp (elements 8gp .. 8gp + 7); dword 2t + h holds elements
//           8gp + 4h .. 8gp + 4h + 3 of token t.
//   pairs   [P][32] int16: sub-block sums (of 32 elements for Q4_K, 16 for Q6_K), natural order, as
//           pairs (2pi, 2pi + 1): dword lane 2t + h of register k holds pair pi = 2k + h of token
//           t. P = 2 (Q4_K) or 4 (Q6_K).
//   scales  [16] float: lanes 2t and 2t + 1 hold d of token t.
// Tokens at or beyond n_act are zero.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/cpu/vec_dot.h"

namespace dv::cpu {

inline constexpr int kPanelTokens = 8;
inline constexpr size_t kPanelQuantBytes = 32 * 64;
inline constexpr size_t kPanelScaleBytes = 16 * sizeof(float);

size_t PanelBytesPerSuperBlock(PanelLayout layout);
// Bytes of a panel of n elements per token. REQUIRES: layout != kNone, n a multiple of 256.
size_t PanelBytes(PanelLayout layout, int64_t n);

// Builds a panel from n_act (1..kPanelTokens) Q8_K rows in standard layout, a_stride bytes apart.
// REQUIRES: panel has PanelBytes(layout, n) bytes.
void BuildActivationPanel(PanelLayout layout, int64_t n, const uint8_t* a, size_t a_stride, int n_act,
                          uint8_t* panel);

}  // namespace dv::cpu
