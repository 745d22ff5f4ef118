#include "engine/cpu/vec_dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include "engine/cpu/kernels_internal.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/fp16.h"

namespace dv::cpu {
namespace {

using quant::BlockQ8_0;
using quant::kBlockSize;
using quant::kSuperBlockSize;

size_t RowBytesOf(TensorType type, int64_t n) {
  const auto& t = quant::Traits(type);
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

// Activations back to float (the plain path's view of them).
void ActivationsToFloat(TensorType act, const uint8_t* a, int64_t n, float* out) {
  switch (act) {
    case TensorType::kQ8_1: {
      const auto* b = reinterpret_cast<const BlockQ8_1*>(a);
      for (int64_t i = 0; i < n / kBlockSize; ++i) {
        const float d = quant::Fp16ToFloat(b[i].d);
        for (int j = 0; j < kBlockSize; ++j) out[i * kBlockSize + j] = d * b[i].qs[j];
      }
      return;
    }
    case TensorType::kQ8_K: {
      const auto* b = reinterpret_cast<const BlockQ8_K*>(a);
      for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
        for (int j = 0; j < kSuperBlockSize; ++j) out[i * kSuperBlockSize + j] = b[i].d * b[i].qs[j];
      }
      return;
    }
    default:
      quant::DequantizeRow(act, {a, RowBytesOf(act, n)}, {out, static_cast<size_t>(n)}).IgnoreError();
  }
}

template <TensorType kWeight>
float PlainDotImpl(int64_t n, const uint8_t* w, const uint8_t* a) {
  thread_local std::vector<float> wf, af;
  if (wf.size() < static_cast<size_t>(n)) {
    wf.resize(n);
    af.resize(n);
  }
  // The sizes were validated when the model was loaded; DequantizeRow cannot fail here.
  quant::DequantizeRow(kWeight, {w, RowBytesOf(kWeight, n)}, {wf.data(), static_cast<size_t>(n)}).IgnoreError();
  ActivationsToFloat(ActivationType(kWeight), a, n, af.data());
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(wf[i]) * af[i];
  return static_cast<float>(sum);
}

void QuantizeQ8_0(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const float* xb = x + i * kBlockSize;
    float amax = 0;
    for (int j = 0; j < kBlockSize; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.f;
    const float id = amax != 0 ? 127.f / amax : 0.f;
    y[i].d = quant::FloatToFp16(d);
    for (int j = 0; j < kBlockSize; ++j) y[i].qs[j] = static_cast<int8_t>(std::nearbyint(xb[j] * id));
  }
}

void QuantizeQ8_1(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_1*>(out);
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const float* xb = x + i * kBlockSize;
    float amax = 0;
    for (int j = 0; j < kBlockSize; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.f;
    const float id = d != 0 ? 1.f / d : 0.f;
    int sum = 0;
    for (int j = 0; j < kBlockSize; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::nearbyint(xb[j] * id));
      sum += y[i].qs[j];
    }
    y[i].d = quant::FloatToFp16(d);
    y[i].s = quant::FloatToFp16(d * static_cast<float>(sum));
  }
}

// Q8_K as ggml's reference: scale from the signed value of largest magnitude, so that value maps
// to -127 exactly; quants clamped to 127.
void QuantizeQ8_K(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const float* xb = x + i * kSuperBlockSize;
    float max = 0, amax = 0;
    for (int j = 0; j < kSuperBlockSize; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kSuperBlockSize; ++j) {
      const int v = static_cast<int>(std::nearbyint(iscale * xb[j]));
      y[i].qs[j] = static_cast<int8_t>(std::min(127, v));
    }
    for (int g = 0; g < kSuperBlockSize / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += y[i].qs[g * 16 + j];
      y[i].bsums[g] = static_cast<int16_t>(sum);
    }
    y[i].d = 1.f / iscale;
  }
}

}  // namespace

TensorType ActivationType(TensorType weight) {
  switch (weight) {
    case TensorType::kQ8_0:
    case TensorType::kQ4_0:
    case TensorType::kQ5_0: return TensorType::kQ8_0;
    case TensorType::kQ4_1:
    case TensorType::kQ5_1: return TensorType::kQ8_1;
    case TensorType::kQ2_K:
    case TensorType::kQ3_K:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K: return TensorType::kQ8_K;
    default: return TensorType::kF32;
  }
}

bool IsDotSupported(TensorType weight) { return PlainDot(weight).fn != nullptr; }

size_t ActivationRowBytes(TensorType act, int64_t n) {
  switch (act) {
    case TensorType::kQ8_1: return static_cast<size_t>(n / kBlockSize) * sizeof(BlockQ8_1);
    case TensorType::kQ8_K: return static_cast<size_t>(n / kSuperBlockSize) * sizeof(BlockQ8_K);
    default: return RowBytesOf(act, n);
  }
}

void ConvertActivations(TensorType act, const float* x, int64_t n, uint8_t* out, const CpuFeatures& features) {
  switch (act) {
    case TensorType::kF16: {
      auto* h = reinterpret_cast<uint16_t*>(out);
      for (int64_t i = 0; i < n; ++i) h[i] = quant::FloatToFp16(x[i]);
      return;
    }
    case TensorType::kBF16: {
      auto* h = reinterpret_cast<uint16_t*>(out);
      for (int64_t i = 0; i < n; ++i) h[i] = quant::FloatToBf16(x[i]);
      return;
    }
    case TensorType::kQ8_0: return features.avx2 ? internal::Avx2QuantizeQ8_0(x, n, out) : QuantizeQ8_0(x, n, out);
    case TensorType::kQ8_1: QuantizeQ8_1(x, n, out); return;
    case TensorType::kQ8_K: return features.avx2 ? internal::Avx2QuantizeQ8_K(x, n, out) : QuantizeQ8_K(x, n, out);
    default: std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float)); return;
  }
}

void ApplyActivationLayout(ActivationLayout layout, int64_t n, uint8_t* row) {
  if (layout == ActivationLayout::kStandard) return;
  auto* blocks = reinterpret_cast<BlockQ8_K*>(row);
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    BlockQ8_K& b = blocks[i];
    int8_t qs[kSuperBlockSize];
    std::memcpy(qs, b.qs, sizeof(qs));
    constexpr int kSubBlockAt[4] = {0, 2, 1, 3};  // sub-block (within the half) of each 16-byte piece
    for (int half = 0; half < 2; ++half) {
      for (int piece = 0; piece < 8; ++piece) {
        const int sub_block = 4 * half + kSubBlockAt[piece % 4], first = 16 * (piece / 4);
        std::memcpy(b.qs + 128 * half + 16 * piece, qs + 32 * sub_block + first, 16);
      }
    }
    float sums[8];  // d * sub-block sum: the Q4_K/Q5_K tiles' mins term is sum_j (min_j * dmin) * sums[j]
    for (int j = 0; j < 8; ++j) sums[j] = b.d * static_cast<float>(b.bsums[2 * j] + b.bsums[2 * j + 1]);
    static_assert(sizeof(sums) == sizeof(b.bsums));
    std::memcpy(b.bsums, sums, sizeof(sums));
  }
}

void ConvertActivationsFor(const DotKernel& kernel, TensorType weight, const float* x, int64_t n, uint8_t* out) {
  ConvertActivations(ActivationType(weight), x, n, out);
  ApplyActivationLayout(kernel.act_layout, n, out);
}

DotKernel PlainDot(TensorType weight) {
  DotFn fn = nullptr;
  switch (weight) {
#define DV_PLAIN(T) \
  case TensorType::T: fn = &PlainDotImpl<TensorType::T>; break;
    DV_PLAIN(kF32) DV_PLAIN(kF16) DV_PLAIN(kBF16) DV_PLAIN(kQ8_0) DV_PLAIN(kQ4_0) DV_PLAIN(kQ5_0)
    DV_PLAIN(kQ4_1) DV_PLAIN(kQ5_1) DV_PLAIN(kQ2_K) DV_PLAIN(kQ3_K) DV_PLAIN(kQ4_K) DV_PLAIN(kQ5_K)
    DV_PLAIN(kQ6_K)
#undef DV_PLAIN
    default: return {};
  }
  return {fn, nullptr, "plain"};
}

DotKernel SelectDot(TensorType weight, const CpuFeatures& features) {
  if (features.avx512_vnni) {
    if (DotKernel k = internal::Avx512VnniDot(weight); k.fn != nullptr) return k;
  }
  if (features.avx2) {
    if (DotFn fn = internal::Avx2Dot(weight)) return {fn, internal::Avx2DotMulti(weight), "avx2"};
  }
  return PlainDot(weight);
}

float DotF32F16(int64_t n, const float* q, const uint16_t* k) {
  if (Features().avx2) return internal::Avx2DotF32F16(n, q, k);
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += q[i] * quant::Fp16ToFloat(k[i]);
  return sum;
}

void AxpyF16(int64_t n, float a, const uint16_t* v, float* out) {
  if (Features().avx2) return internal::Avx2AxpyF16(n, a, v, out);
  for (int64_t i = 0; i < n; ++i) out[i] += a * quant::Fp16ToFloat(v[i]);
}

float DotF32(int64_t n, const float* q, const float* k) {
  if (Features().avx2) return internal::Avx2Dot(TensorType::kF32)(n, reinterpret_cast<const uint8_t*>(q), reinterpret_cast<const uint8_t*>(k));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(q[i]) * k[i];
  return static_cast<float>(sum);
}

void AxpyF32(int64_t n, float a, const float* v, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] += a * v[i];
}

}  // namespace dv::cpu
