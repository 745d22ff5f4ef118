// AVX2 + FMA + F16C kernels. This file is compiled with -mavx2 -mfma -mf16c; its functions are only
// called after Features() reported those instruction sets.
#include <immintrin.h>

#include <cstring>

#include "engine/cpu/kernels_internal.h"
#include "engine/quant/fp16.h"

namespace dv::cpu::internal {
namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;
using quant::kBlockSize;
using quant::kSuperBlockSize;

inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float H(uint16_t h) { return _cvtsh_ss(h); }

// Sum of adjacent int16 pairs of the u8*s8 products, as int32: sum over 32 bytes in 8 lanes.
inline __m256i DotU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
// Signed x signed bytes: move x's sign onto y so maddubs sees |x| (unsigned) times signed.
inline __m256i DotS8S8(__m256i x, __m256i y) {
  return DotU8S8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

float DotF32(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const float*>(w);
  const auto* y = reinterpret_cast<const float*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
  }
  float sum = Hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

float DotF16(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const uint16_t*>(w);
  const auto* y = reinterpret_cast<const float*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    const __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 8)));
    acc0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(y + i + 8), acc1);
  }
  float sum = Hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += H(x[i]) * y[i];
  return sum;
}

inline __m256 LoadBf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

float DotBF16(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const uint16_t*>(w);
  const auto* y = reinterpret_cast<const float*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(LoadBf16(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(LoadBf16(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
  }
  float sum = Hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += quant::Bf16ToFloat(x[i]) * y[i];
  return sum;
}

float DotQ8_0(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ8_0*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    const __m256 d = _mm256_set1_ps(H(x[i].d) * H(y[i].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(DotS8S8(qx, qy)), acc);
  }
  return Hsum(acc);
}

// 32 nibbles → 32 bytes: low nibbles (elements 0..15) in the low lane, high nibbles in the high lane.
inline __m256i Nibbles32(const uint8_t* p) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

float DotQ4_0(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ4_0*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const __m256i qx = _mm256_sub_epi8(Nibbles32(x[i].qs), eight);
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    const __m256 d = _mm256_set1_ps(H(x[i].d) * H(y[i].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(DotS8S8(qx, qy)), acc);
  }
  return Hsum(acc);
}

// Sum over the 8 sub-blocks of min[j] * (sum of the 32 activations of sub-block j).
inline int MinsTimesSums(const uint8_t* mins, const int16_t* bsums) {
  int s = 0;
  for (int j = 0; j < 8; ++j) s += mins[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  return s;
}

float DotQ4_K(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ4_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0;
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) quant::UnpackScaleMinK4(j, x[i].scales, &sc[j], &mn[j]);
    acc_min += y[i].d * H(x[i].dmin) * static_cast<float>(MinsTimesSums(mn, y[i].bsums));
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * c));
      const __m256i lo = _mm256_and_si256(q4, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * c));
      const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * c + 32));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * c]));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * c + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * H(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Hsum(acc) - acc_min;
}

float DotQ5_K(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ5_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0;
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) quant::UnpackScaleMinK4(j, x[i].scales, &sc[j], &mn[j]);
    acc_min += y[i].d * H(x[i].dmin) * static_cast<float>(MinsTimesSums(mn, y[i].bsums));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh));
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * c));
      const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
      const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q4, m4), h0);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4, 4), m4), h1);
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * c));
      const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * c + 32));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * c]));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * c + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * H(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Hsum(acc) - acc_min;
}

// Two int8 scales, one per 128-bit lane, widened to int16.
inline __m256i LaneScales(int8_t lo, int8_t hi) {
  return _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo));
}

float DotQ6_K(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  const __m256i bias = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const int8_t* sc = x[i].scales;
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 2; ++c) {
      const uint8_t* ql = x[i].ql + 64 * c;
      const int8_t* q8 = y[i].qs + 128 * c;
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh + 32 * c));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
      for (int k = 0; k < 4; ++k) {
        const __m256i q8v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8 + 32 * k));
        // (q - 32) * q8 = q * q8 - 32 * q8, both in int16 range.
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], q8v), _mm256_maddubs_epi16(bias, q8v));
        const int s = 8 * c + 2 * k;
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, LaneScales(sc[s], sc[s + 1])));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * H(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Hsum(acc);
}

// ---- One weight row × N activation rows (prefill): the weights are unpacked once. ----

template <int N>
void MultiQ8_0(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, float* out) {
  const auto* x = reinterpret_cast<const BlockQ8_0*>(w);
  __m256 acc[N];
  for (int j = 0; j < N; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    const __m256i ax = _mm256_sign_epi8(qx, qx);
    const float dx = H(x[i].d);
    for (int j = 0; j < N; ++j) {
      const auto* y = reinterpret_cast<const BlockQ8_0*>(a + j * a_stride) + i;
      const __m256i qy = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->qs)), qx);
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dx * H(y->d)), _mm256_cvtepi32_ps(DotU8S8(ax, qy)), acc[j]);
    }
  }
  for (int j = 0; j < N; ++j) out[j] = Hsum(acc[j]);
}

template <int N>
void MultiQ4_0(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, float* out) {
  const auto* x = reinterpret_cast<const BlockQ4_0*>(w);
  __m256 acc[N];
  for (int j = 0; j < N; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kBlockSize; ++i) {
    const __m256i qx = _mm256_sub_epi8(Nibbles32(x[i].qs), _mm256_set1_epi8(8));
    const __m256i ax = _mm256_sign_epi8(qx, qx);
    const float dx = H(x[i].d);
    for (int j = 0; j < N; ++j) {
      const auto* y = reinterpret_cast<const BlockQ8_0*>(a + j * a_stride) + i;
      const __m256i qy = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->qs)), qx);
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dx * H(y->d)), _mm256_cvtepi32_ps(DotU8S8(ax, qy)), acc[j]);
    }
  }
  for (int j = 0; j < N; ++j) out[j] = Hsum(acc[j]);
}

// Q4_K and Q5_K share the super-block scheme; kFiveBit adds the qh high bits.
template <int N, bool kFiveBit>
void MultiQ45_K(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc[N];
  float acc_min[N];
  for (int j = 0; j < N; ++j) acc[j] = _mm256_setzero_ps(), acc_min[j] = 0;
  const size_t block_bytes = kFiveBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const uint8_t* blk = w + i * block_bytes;
    uint16_t d_bits, dmin_bits;
    std::memcpy(&d_bits, blk, 2);
    std::memcpy(&dmin_bits, blk + 2, 2);
    const uint8_t* scales = blk + 4;
    const uint8_t* qh_ptr = kFiveBit ? reinterpret_cast<const BlockQ5_K*>(blk)->qh : nullptr;
    const uint8_t* qs = kFiveBit ? reinterpret_cast<const BlockQ5_K*>(blk)->qs : reinterpret_cast<const BlockQ4_K*>(blk)->qs;
    uint8_t sc[8], mn[8];
    for (int k = 0; k < 8; ++k) quant::UnpackScaleMinK4(k, scales, &sc[k], &mn[k]);
    const float dx = H(d_bits), dmx = H(dmin_bits);
    const BlockQ8_K* y[N];
    __m256i sumi[N];
    for (int j = 0; j < N; ++j) {
      y[j] = reinterpret_cast<const BlockQ8_K*>(a + j * a_stride) + i;
      acc_min[j] += y[j]->d * dmx * static_cast<float>(MinsTimesSums(mn, y[j]->bsums));
      sumi[j] = _mm256_setzero_si256();
    }
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFiveBit) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh_ptr));
    for (int c = 0; c < 4; ++c) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      __m256i lo = _mm256_and_si256(q4, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);
      if constexpr (kFiveBit) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
      const __m256i s0 = _mm256_set1_epi16(sc[2 * c]), s1 = _mm256_set1_epi16(sc[2 * c + 1]);
      for (int j = 0; j < N; ++j) {
        const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[j]->qs + 64 * c));
        const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[j]->qs + 64 * c + 32));
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0);
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1);
        sumi[j] = _mm256_add_epi32(sumi[j], _mm256_add_epi32(p0, p1));
      }
    }
    for (int j = 0; j < N; ++j) acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(y[j]->d * dx), _mm256_cvtepi32_ps(sumi[j]), acc[j]);
  }
  for (int j = 0; j < N; ++j) out[j] = Hsum(acc[j]) - acc_min[j];
}

template <int N>
void MultiQ6_K(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, float* out) {
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  const __m256i bias = _mm256_set1_epi8(32);
  __m256 acc[N];
  for (int j = 0; j < N; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kSuperBlockSize; ++i) {
    const int8_t* sc = x[i].scales;
    const BlockQ8_K* y[N];
    __m256i sumi[N];
    for (int j = 0; j < N; ++j) {
      y[j] = reinterpret_cast<const BlockQ8_K*>(a + j * a_stride) + i;
      sumi[j] = _mm256_setzero_si256();
    }
    for (int c = 0; c < 2; ++c) {
      const uint8_t* ql = x[i].ql + 64 * c;
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh + 32 * c));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
      for (int k = 0; k < 4; ++k) {
        const int s = 8 * c + 2 * k;
        const __m256i scales = LaneScales(sc[s], sc[s + 1]);
        for (int j = 0; j < N; ++j) {
          const __m256i q8v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[j]->qs + 128 * c + 32 * k));
          const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], q8v), _mm256_maddubs_epi16(bias, q8v));
          sumi[j] = _mm256_add_epi32(sumi[j], _mm256_madd_epi16(p, scales));
        }
      }
    }
    for (int j = 0; j < N; ++j) acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(y[j]->d * H(x[i].d)), _mm256_cvtepi32_ps(sumi[j]), acc[j]);
  }
  for (int j = 0; j < N; ++j) out[j] = Hsum(acc[j]);
}

// Runtime n_act → compile-time N.
template <template <int> class K>
void DispatchMulti(int64_t n, const uint8_t* w, const uint8_t* a, size_t a_stride, int n_act, float* out) {
  switch (n_act) {
    case 1: K<1>::Run(n, w, a, a_stride, out); break;
    case 2: K<2>::Run(n, w, a, a_stride, out); break;
    case 3: K<3>::Run(n, w, a, a_stride, out); break;
    default: K<4>::Run(n, w, a, a_stride, out); break;
  }
}
template <int N> struct KQ8_0 { static void Run(int64_t n, const uint8_t* w, const uint8_t* a, size_t s, float* o) { MultiQ8_0<N>(n, w, a, s, o); } };
template <int N> struct KQ4_0 { static void Run(int64_t n, const uint8_t* w, const uint8_t* a, size_t s, float* o) { MultiQ4_0<N>(n, w, a, s, o); } };
template <int N> struct KQ4_K { static void Run(int64_t n, const uint8_t* w, const uint8_t* a, size_t s, float* o) { MultiQ45_K<N, false>(n, w, a, s, o); } };
template <int N> struct KQ5_K { static void Run(int64_t n, const uint8_t* w, const uint8_t* a, size_t s, float* o) { MultiQ45_K<N, true>(n, w, a, s, o); } };
template <int N> struct KQ6_K { static void Run(int64_t n, const uint8_t* w, const uint8_t* a, size_t s, float* o) { MultiQ6_K<N>(n, w, a, s, o); } };

}  // namespace

DotMultiFn Avx2DotMulti(TensorType weight) {
  switch (weight) {
    case TensorType::kQ8_0: return &DispatchMulti<KQ8_0>;
    case TensorType::kQ4_0: return &DispatchMulti<KQ4_0>;
    case TensorType::kQ4_K: return &DispatchMulti<KQ4_K>;
    case TensorType::kQ5_K: return &DispatchMulti<KQ5_K>;
    case TensorType::kQ6_K: return &DispatchMulti<KQ6_K>;
    default: return nullptr;
  }
}

DotFn Avx2Dot(TensorType weight) {
  switch (weight) {
    case TensorType::kF32: return &DotF32;
    case TensorType::kF16: return &DotF16;
    case TensorType::kBF16: return &DotBF16;
    case TensorType::kQ8_0: return &DotQ8_0;
    case TensorType::kQ4_0: return &DotQ4_0;
    case TensorType::kQ4_K: return &DotQ4_K;
    case TensorType::kQ5_K: return &DotQ5_K;
    case TensorType::kQ6_K: return &DotQ6_K;
    default: return nullptr;
  }
}

float Avx2DotF32F16(int64_t n, const float* q, const uint16_t* k) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 kv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i)));
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), kv, acc);
  }
  float sum = Hsum(acc);
  for (; i < n; ++i) sum += q[i] * H(k[i]);
  return sum;
}

void Avx2AxpyF16(int64_t n, float a, const uint16_t* v, float* out) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
    _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, vv, _mm256_loadu_ps(out + i)));
  }
  for (; i < n; ++i) out[i] += a * H(v[i]);
}

}  // namespace dv::cpu::internal
