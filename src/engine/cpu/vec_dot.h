// Dot products of one weight row (in its stored GGUF format) with one activation row.
//
// Like llama.cpp, activations are converted once per matrix product into the format that pairs
// with the weight type ("activation type"), so that the inner loop is an integer dot product:
//   F32, F16, BF16 → F32 (16-bit weights are widened in registers; keeping activations in float
//   makes F16/BF16 checkpoints match float32 references to ~1e-6),
//   Q8_0 / Q4_0 / Q5_0 → Q8_0 (32 int8 + fp16 scale),
//   Q4_1 / Q5_1 → Q8_1 (32 int8 + fp16 scale + fp16 scale*sum),
//   Q2_K .. Q6_K → Q8_K (256 int8 + f32 scale + 16 int16 partial sums).
//
// Every weight type has a plain C++ path (dequantize both rows, dot in float); the SIMD paths
// (AVX2+FMA+F16C, AVX-512) are chosen at run time by SelectDot and tested against the plain path.
//
// Thread safety: all functions are pure (the plain path uses thread-local scratch).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/cpu/cpu_features.h"
#include "engine/quant/blocks.h"
#include "engine/quant/tensor_type.h"

namespace dv::cpu {

using quant::TensorType;

struct BlockQ8_1 {
  uint16_t d;  // fp16 scale
  uint16_t s;  // fp16 d * sum(qs)
  int8_t qs[quant::kBlockSize];
};
struct BlockQ8_K {
  float d;
  int8_t qs[quant::kSuperBlockSize];
  int16_t bsums[quant::kSuperBlockSize / 16];  // sum of each group of 16 qs
};
static_assert(sizeof(BlockQ8_1) == 36 && sizeof(BlockQ8_K) == 292);

// Activation format for a weight type; kF32 for types without a dot kernel (check IsDotSupported).
TensorType ActivationType(TensorType weight);
bool IsDotSupported(TensorType weight);
// Bytes of n activations in format `act`. REQUIRES: n a multiple of the format's block size.
size_t ActivationRowBytes(TensorType act, int64_t n);
// Converts n floats into format `act` (F32, F16, BF16, Q8_0, Q8_1 or Q8_K), rounding as llama.cpp's
// reference quantizers do; the SIMD quantizers are bit-identical to the plain ones.
// REQUIRES: out has ActivationRowBytes(act, n) bytes.
void ConvertActivations(TensorType act, const float* x, int64_t n, uint8_t* out,
                        const CpuFeatures& features = Features());

// Byte order of an activation row, chosen by the weight kernel (DotKernel::act_layout).
enum class ActivationLayout : uint8_t {
  kStandard,  // as ConvertActivations writes it
  // Q8_K for the AVX-512 Q4_K/Q5_K tiles. Each half of a super-block (sub-blocks 4h .. 4h+3) is
  // stored as 16-element pieces: first elements 0..15 of sub-blocks 4h, 4h+2, 4h+1, 4h+3, then
  // elements 16..31 of the same sub-blocks, so that the two 64-byte registers of a half put the
  // same sub-block in the same int32 lanes. The 32 bytes of bsums hold 8 floats instead: d times
  // the sum of sub-block j, j = 0..7.
  kQ8KSplitSubBlocks,
};
// Rearranges a row of n activations in standard layout into `layout` (in place).
// REQUIRES: a Q8_K row for kQ8KSplitSubBlocks; n a multiple of 256.
void ApplyActivationLayout(ActivationLayout layout, int64_t n, uint8_t* row);

// w: one row of n weights in `weight` format; a: n activations in ActivationType(weight) format,
// in the kernel's act_layout.
using DotFn = float (*)(int64_t n, const uint8_t* w, const uint8_t* a);
// One weight row against n_act (1..kMaxMultiDot) activation rows `a_stride` bytes apart:
// out[j] = dot(w, a + j * a_stride). Unpacks the weights once for all rows (prefill).
inline constexpr int kMaxMultiDot = 4;
using DotMultiFn = void (*)(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, int n_act, float* out);

// A tile of weight rows × activation rows: for r < n_rows (1..kMaxTileRows; any count ≥ 1 when
// n_act == 1) and t < n_act (1..kMaxTileActs), out[t * out_stride + r] =
// dot(w + r * w_stride, a + t * a_stride), bit-identical to calling fn for each pair. Weights are
// unpacked once per tile row and activations loaded once per tile column. MatMul calls one tile
// per row chunk for decode (n_act == 1: the rows run one after another, one streaming row being
// fastest) and up to kMaxTileRows × kMaxTileActs tiles for prefill.
inline constexpr int kMaxTileRows = 4;
inline constexpr int kMaxTileActs = 8;
using DotTileFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, const uint8_t* a,
                           size_t a_stride, int n_act, float* out, size_t out_stride);

// Activation panels (activation_panel.h): up to 8 Q8_K activation rows interleaved for the panel
// kernels.
enum class PanelLayout : uint8_t { kNone, kQ8KForQ4K, kQ8KForQ6K };
// n_rows (>= 1) weight rows against the n_act (1..8) tokens of a panel built from Q8_K rows in
// standard layout: out[t * out_stride + r] = dot(w + r * w_stride, token t). The integer sums are
// exact and equal to fn's; the float steps (scales, summation order) differ, so results agree
// with fn to float rounding (about 1e-6 relative), not bit for bit. Each token's result does not
// depend on n_act, n_rows or the other tokens of the panel.
using DotPanelFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, const uint8_t* panel,
                            int n_act, float* out, size_t out_stride);

struct DotKernel {
  DotFn fn = nullptr;
  DotMultiFn multi = nullptr;  // nullptr: call fn per activation row
  const char* isa = "none";    // "plain", "avx2", "avx512"
  DotTileFn tile = nullptr;    // nullptr: MatMul uses multi / fn
  ActivationLayout act_layout = ActivationLayout::kStandard;
  DotPanelFn panel = nullptr;  // nullptr: no panel kernel
  PanelLayout panel_layout = PanelLayout::kNone;
};

// ConvertActivations into ActivationType(weight), then ApplyActivationLayout(kernel.act_layout):
// the activations `kernel` takes for weights of type `weight`.
// REQUIRES: out has ActivationRowBytes(ActivationType(weight), n) bytes.
void ConvertActivationsFor(const DotKernel& kernel, TensorType weight, const float* x, int64_t n, uint8_t* out);

// The fastest kernel available for `weight` under `features`; fn == nullptr when unsupported.
DotKernel SelectDot(TensorType weight, const CpuFeatures& features = Features());
// The plain C++ kernel (dequantize both rows to float, sum in double).
DotKernel PlainDot(TensorType weight);

// Attention helpers over fp16 or fp32 K/V cache rows (dispatched the same way).
// Return sum_i q[i] * k[i].
float DotF32F16(int64_t n, const float* q, const uint16_t* k);
float DotF32(int64_t n, const float* q, const float* k);
// out[i] += a * v[i].
void AxpyF16(int64_t n, float a, const uint16_t* v, float* out);
void AxpyF32(int64_t n, float a, const float* v, float* out);

}  // namespace dv::cpu
