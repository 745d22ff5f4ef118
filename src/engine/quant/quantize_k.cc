// K-quant quantizers: deepvault's own scale search.
//
// Every K-quant super-block holds 256 values in sub-blocks of 16 or 32 whose scales (and mins)
// are themselves small integers multiplied by fp16 super-block scales. We minimise the plain
// squared reconstruction error in three stages:
//   1. Per sub-block, a grid search over the inverse scale (the candidate maps the extreme value
//      to the outermost level, shifted by -1.5..+1.5 levels in steps of 0.1), each candidate
//      followed by a least-squares refit of scale (and offset) for the resulting integer levels,
//      then two Lloyd iterations (requantize with the fitted scale, refit).
//   2. The sub-block scales are quantized against super-block scales chosen from their maximum;
//      for each sub-block the integer scale (and min) is then picked among its rounded value ±1 by
//      the error it actually gives with the levels requantized for it.
//   3. A least-squares refit of the fp16 super-block scale(s) over all 256 values with the integer
//      scales and levels fixed; kept only when, after fp16 rounding and requantizing, it lowers
//      the error.
// The result is a valid block of the format; llama.cpp's reference quantizers weight errors
// differently (by |x| or x²), so bytes differ, while the error is comparable (tests measure it).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quantize.h"

namespace dv::quant::internal {
namespace {

constexpr int QK = kSuperBlockSize;

// Round to nearest, ties to even, without a library call: adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits. Inputs are clamped to +-2^22 first (callers clamp the result
// to a few hundred anyway).
int RoundToInt(float v) {
  v = std::min(4194303.0f, std::max(-4194303.0f, v));
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007FFFFF) - 0x00400000;
}

int Clamp(int v, int lo, int hi) { return std::min(hi, std::max(lo, v)); }

// ---- Affine sub-blocks: x ≈ scale * q - min, q in [0, nmax], scale >= 0, min >= 0. ----------

struct AffineFit {
  float scale = 0.0f;
  float min = 0.0f;
};

// Squared error of x against the best levels for (scale, min).
float AffineError(const float* x, int n, int nmax, float scale, float min) {
  float err = 0.0f;
  const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  for (int i = 0; i < n; ++i) {
    const int q = Clamp(RoundToInt((x[i] + min) * inv), 0, nmax);
    const float diff = scale * static_cast<float>(q) - min - x[i];
    err += diff * diff;
  }
  return err;
}

// Least-squares (scale, min) for fixed levels q; min constrained to >= 0 (the format subtracts it).
// Returns the squared error of that fit (from the sums: Sxx - scale*Sqx - offset*Sx), or -1 when
// no positive scale fits.
double RefitAffine(const float* x, const int* q, int n, AffineFit* fit) {
  double sq = 0, sqq = 0, sx = 0, sqx = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    sq += q[i];
    sqq += static_cast<double>(q[i]) * q[i];
    sx += x[i];
    sqx += static_cast<double>(q[i]) * x[i];
    sxx += static_cast<double>(x[i]) * x[i];
  }
  if (sqq <= 0) return -1;
  const double det = n * sqq - sq * sq;  // 0 when all levels are equal: fit the scale alone
  double scale = det > 0 ? (n * sqx - sq * sx) / det : sqx / sqq;
  double offset = det > 0 ? (sx - scale * sq) / n : 0.0;  // x ≈ scale*q + offset
  if (offset > 0) {
    offset = 0;
    scale = sqx / sqq;
  }
  if (!(scale > 0)) return -1;
  fit->scale = static_cast<float>(scale);
  fit->min = static_cast<float>(-offset);
  return std::max(0.0, sxx - scale * sqx - offset * sx);
}

AffineFit FitAffine(const float* x, int n, int nmax) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);
  AffineFit best{0.0f, -lo};
  if (hi <= lo) return best;
  double best_err = AffineError(x, n, nmax, best.scale, best.min);
  int q[32];
  // Candidates are ranked by the error of their least-squares fit for the candidate's levels.
  for (int step = -15; step <= 15; ++step) {
    const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (hi - lo);
    for (int i = 0; i < n; ++i) q[i] = Clamp(RoundToInt(iscale * (x[i] - lo)), 0, nmax);
    AffineFit fit;
    const double err = RefitAffine(x, q, n, &fit);
    if (err >= 0 && err < best_err) {
      best_err = err;
      best = fit;
    }
  }
  // Lloyd iterations: requantize with the fitted scale and min, refit.
  for (int iter = 0; iter < 2 && best.scale > 0.0f; ++iter) {
    const float inv = 1.0f / best.scale;
    for (int i = 0; i < n; ++i) q[i] = Clamp(RoundToInt((x[i] + best.min) * inv), 0, nmax);
    AffineFit fit;
    const double err = RefitAffine(x, q, n, &fit);
    if (err < 0 || err >= best_err) break;
    best_err = err;
    best = fit;
  }
  return best;
}

// A quantized affine super-block: value = d * sc[j] * L[i] - dmin * m[j] for sub-block j.
struct AffineSuperBlock {
  uint16_t d = 0, dmin = 0;  // fp16 bits
  int sc[16] = {}, m[16] = {};
  int L[QK] = {};
};

// Levels of one sub-block for its integer scale/min; returns the squared error.
float QuantizeAffineSub(const float* x, int sub, int nmax, float d, float dmin, int sc, int m, int* L) {
  const float scale = d * static_cast<float>(sc), min = dmin * static_cast<float>(m);
  const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;  // as AffineError computes the levels
  float err = 0.0f;
  for (int i = 0; i < sub; ++i) {
    L[i] = Clamp(RoundToInt((x[i] + min) * inv), 0, nmax);
    const float diff = scale * static_cast<float>(L[i]) - min - x[i];
    err += diff * diff;
  }
  return err;
}

// Integer scales/mins and levels for fp16 super-scales `d16`, `dmin16` given per-sub-block fits.
float QuantizeAffineWithSuperScales(const float* x, int sub, int nmax, int scale_max, uint16_t d16, uint16_t dmin16,
                                    const AffineFit* fits, AffineSuperBlock* out) {
  const float d = Fp16ToFloat(d16), dmin = Fp16ToFloat(dmin16);
  const int nsub = QK / sub;
  float total = 0.0f;
  for (int j = 0; j < nsub; ++j) {
    const float* xs = x + j * sub;
    const int sc0 = d > 0.0f ? Clamp(RoundToInt(fits[j].scale / d), 0, scale_max) : 0;
    const int m0 = dmin > 0.0f ? Clamp(RoundToInt(fits[j].min / dmin), 0, scale_max) : 0;
    float best = std::numeric_limits<float>::infinity();
    int best_sc = sc0, best_m = m0;
    for (int ds = -1; ds <= 1; ++ds) {
      for (int dm = -1; dm <= 1; ++dm) {
        const int sc = sc0 + ds, m = m0 + dm;
        if (sc < 0 || sc > scale_max || m < 0 || m > scale_max) continue;
        const float err = AffineError(xs, sub, nmax, d * static_cast<float>(sc), dmin * static_cast<float>(m));
        if (err < best) {
          best = err;
          best_sc = sc;
          best_m = m;
        }
      }
    }
    out->sc[j] = best_sc;
    out->m[j] = best_m;
    total += QuantizeAffineSub(xs, sub, nmax, d, dmin, best_sc, best_m, out->L + j * sub);
  }
  out->d = d16;
  out->dmin = dmin16;
  return total;
}

void QuantizeAffineSuperBlock(const float* x, int sub, int nmax, int scale_max, AffineSuperBlock* out) {
  const int nsub = QK / sub;
  AffineFit fits[16];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < nsub; ++j) {
    fits[j] = FitAffine(x + j * sub, sub, nmax);
    max_scale = std::max(max_scale, fits[j].scale);
    max_min = std::max(max_min, fits[j].min);
  }
  const float smax = static_cast<float>(scale_max);
  float err = QuantizeAffineWithSuperScales(x, sub, nmax, scale_max, FloatToFp16(max_scale / smax),
                                            FloatToFp16(max_min / smax), fits, out);
  // Stage 3: least-squares refit of (d, dmin) with integer scales, mins and levels fixed:
  // x_i ≈ d * a_i - dmin * b_i with a_i = sc_j * L_i, b_i = m_j.
  double saa = 0, sbb = 0, sab = 0, sax = 0, sbx = 0;
  for (int i = 0; i < QK; ++i) {
    const double a = static_cast<double>(out->sc[i / sub]) * out->L[i];
    const double b = out->m[i / sub];
    saa += a * a;
    sbb += b * b;
    sab += a * b;
    sax += a * x[i];
    sbx += b * x[i];
  }
  const double det = saa * sbb - sab * sab;
  if (det > 0) {
    const double d = (sax * sbb - sbx * sab) / det;
    const double dmin = (sax * sab - sbx * saa) / det;  // note the minus sign in the model
    if (d > 0 && dmin >= 0) {
      AffineSuperBlock refit;
      const float refit_err = QuantizeAffineWithSuperScales(x, sub, nmax, scale_max, FloatToFp16(static_cast<float>(d)),
                                                            FloatToFp16(static_cast<float>(dmin)), fits, &refit);
      if (refit_err < err) {
        *out = refit;
        err = refit_err;
      }
    }
  }
}

// ---- Symmetric sub-blocks: x ≈ scale * q, q in [-nneg, npos], scale of either sign. -------

float SymmetricError(const float* x, int n, int nneg, int npos, float scale) {
  float err = 0.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (int i = 0; i < n; ++i) {
    const int q = Clamp(RoundToInt(x[i] * inv), -nneg, npos);
    const float diff = scale * static_cast<float>(q) - x[i];
    err += diff * diff;
  }
  return err;
}

float FitSymmetric(const float* x, int n, int nneg, int npos) {
  float amax = 0.0f, xmax = 0.0f;
  double sxx = 0;
  for (int i = 0; i < n; ++i) {
    sxx += static_cast<double>(x[i]) * x[i];
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      xmax = x[i];
    }
  }
  if (amax == 0.0f) return 0.0f;
  float best = 0.0f;
  double best_err = sxx;
  // Levels for `iscale`, then the least-squares scale for them; its error is Sxx - Sqx^2 / Sqq.
  auto refit_from_iscale = [&](float iscale) {
    double sqx = 0, sqq = 0;
    for (int i = 0; i < n; ++i) {
      const int q = Clamp(RoundToInt(iscale * x[i]), -nneg, npos);
      sqx += static_cast<double>(q) * x[i];
      sqq += static_cast<double>(q) * q;
    }
    if (sqq <= 0) return false;
    const double err = sxx - sqx * sqx / sqq;
    if (err >= best_err) return false;
    best_err = err;
    best = static_cast<float>(sqx / sqq);
    return true;
  };
  // The extreme value mapped to the negative end (one more level) or to the positive end.
  for (int step = -15; step <= 15; ++step) {
    refit_from_iscale((-static_cast<float>(nneg) + 0.1f * static_cast<float>(step)) / xmax);
    refit_from_iscale((static_cast<float>(npos) + 0.1f * static_cast<float>(step)) / xmax);
  }
  for (int iter = 0; iter < 2 && best != 0.0f; ++iter) {
    if (!refit_from_iscale(1.0f / best)) break;
  }
  return best;
}

struct SymmetricSuperBlock {
  uint16_t d = 0;
  int sc[16] = {};
  int L[QK] = {};  // signed levels
};

float QuantizeSymmetricWithSuperScale(const float* x, int sub, int nneg, int npos, int smin, int smax, uint16_t d16,
                                      const float* scales, SymmetricSuperBlock* out) {
  const float d = Fp16ToFloat(d16);
  float total = 0.0f;
  for (int j = 0; j < QK / sub; ++j) {
    const float* xs = x + j * sub;
    const int sc0 = d != 0.0f ? Clamp(RoundToInt(scales[j] / d), smin, smax) : 0;
    float best = std::numeric_limits<float>::infinity();
    int best_sc = sc0;
    for (int ds = -1; ds <= 1; ++ds) {
      const int sc = sc0 + ds;
      if (sc < smin || sc > smax) continue;
      const float err = SymmetricError(xs, sub, nneg, npos, d * static_cast<float>(sc));
      if (err < best) {
        best = err;
        best_sc = sc;
      }
    }
    out->sc[j] = best_sc;
    const float scale = d * static_cast<float>(best_sc);
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;  // as SymmetricError computes the levels
    for (int i = 0; i < sub; ++i) out->L[j * sub + i] = Clamp(RoundToInt(xs[i] * inv), -nneg, npos);
    total += best;
  }
  out->d = d16;
  return total;
}

// Integer scales lie in [smin, smax] with smin = -(smax + 1); the sub-block scale of largest
// magnitude maps to smin, which uses the extra negative integer.
void QuantizeSymmetricSuperBlock(const float* x, int sub, int nneg, int npos, int smax, SymmetricSuperBlock* out) {
  const int smin = -(smax + 1);
  float scales[16];
  float max_scale = 0.0f;
  for (int j = 0; j < QK / sub; ++j) {
    scales[j] = FitSymmetric(x + j * sub, sub, nneg, npos);
    if (std::fabs(scales[j]) > std::fabs(max_scale)) max_scale = scales[j];
  }
  const uint16_t d16 = FloatToFp16(max_scale / static_cast<float>(smin));
  float err = QuantizeSymmetricWithSuperScale(x, sub, nneg, npos, smin, smax, d16, scales, out);
  double saa = 0, sax = 0;
  for (int i = 0; i < QK; ++i) {
    const double a = static_cast<double>(out->sc[i / sub]) * out->L[i];
    saa += a * a;
    sax += a * x[i];
  }
  if (saa > 0) {
    SymmetricSuperBlock refit;
    const float refit_err = QuantizeSymmetricWithSuperScale(
        x, sub, nneg, npos, smin, smax, FloatToFp16(static_cast<float>(sax / saa)), scales, &refit);
    if (refit_err < err) *out = refit;
  }
}

// ---- Packing -------------------------------------------------------------------------------

// 2-bit levels of 256 values into 64 bytes: byte 32*h + l holds elements 128h + 32g + l at bits 2g.
void Pack2Bit(const int* levels, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int* e = levels + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>((e[0] & 3) | ((e[32] & 3) << 2) | ((e[64] & 3) << 4) | ((e[96] & 3) << 6));
    }
  }
}

// Packs 8 six-bit scales and mins (Q4_K/Q5_K layout, inverse of UnpackScaleMinK4).
void PackScaleMinK4(const int* sc, const int* m, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
}

template <typename Block>
void StoreBlock(const Block& b, uint8_t* out, size_t i) {
  std::memcpy(out + i * sizeof(Block), &b, sizeof(Block));
}

}  // namespace

void QuantizeQ2_K(const float* x, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    AffineSuperBlock s;
    QuantizeAffineSuperBlock(x, 16, 3, 15, &s);
    BlockQ2_K b;
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<uint8_t>(s.sc[j] | (s.m[j] << 4));
    Pack2Bit(s.L, b.qs);
    b.d = s.d;
    b.dmin = s.dmin;
    StoreBlock(b, out, i);
  }
}

void QuantizeQ3_K(const float* x, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    SymmetricSuperBlock s;
    QuantizeSymmetricSuperBlock(x, 16, 4, 3, 31, &s);
    BlockQ3_K b;
    std::memset(&b, 0, sizeof b);
    int unsigned_levels[QK];
    for (int k = 0; k < QK; ++k) unsigned_levels[k] = s.L[k] + 4;  // 0..7
    Pack2Bit(unsigned_levels, b.qs);
    // High bit of element 128h + 32g + l lives in hmask[l] bit 4h + g.
    for (int k = 0; k < QK; ++k) {
      if (unsigned_levels[k] >= 4) b.hmask[k % 32] = static_cast<uint8_t>(b.hmask[k % 32] | (1u << (k / 32)));
    }
    for (int j = 0; j < 16; ++j) {
      const int v = s.sc[j] + 32;  // 0..63
      if (j < 8) {
        b.scales[j] = static_cast<uint8_t>(b.scales[j] | (v & 0xF));
      } else {
        b.scales[j - 8] = static_cast<uint8_t>(b.scales[j - 8] | ((v & 0xF) << 4));
      }
      b.scales[8 + j % 4] = static_cast<uint8_t>(b.scales[8 + j % 4] | ((v >> 4) << (2 * (j / 4))));
    }
    b.d = s.d;
    StoreBlock(b, out, i);
  }
}

void QuantizeQ4_K(const float* x, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    AffineSuperBlock s;
    QuantizeAffineSuperBlock(x, 32, 15, 63, &s);
    BlockQ4_K b;
    b.d = s.d;
    b.dmin = s.dmin;
    PackScaleMinK4(s.sc, s.m, b.scales);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        b.qs[32 * c + l] = static_cast<uint8_t>(s.L[64 * c + l] | (s.L[64 * c + 32 + l] << 4));
      }
    }
    StoreBlock(b, out, i);
  }
}

void QuantizeQ5_K(const float* x, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    AffineSuperBlock s;
    QuantizeAffineSuperBlock(x, 32, 31, 63, &s);
    BlockQ5_K b;
    std::memset(&b, 0, sizeof b);
    b.d = s.d;
    b.dmin = s.dmin;
    PackScaleMinK4(s.sc, s.m, b.scales);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = s.L[64 * c + l], hi = s.L[64 * c + 32 + l];
        b.qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        b.qh[l] = static_cast<uint8_t>(b.qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
    StoreBlock(b, out, i);
  }
}

void QuantizeQ6_K(const float* x, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / QK; ++i, x += QK) {
    SymmetricSuperBlock s;
    QuantizeSymmetricSuperBlock(x, 16, 32, 31, 127, &s);
    BlockQ6_K b;
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(s.sc[j]);
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; ++l) {
        const int* e = s.L + 128 * h + l;
        const int q1 = e[0] + 32, q2 = e[32] + 32, q3 = e[64] + 32, q4 = e[96] + 32;
        b.ql[64 * h + l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        b.ql[64 * h + l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        b.qh[32 * h + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
    b.d = s.d;
    StoreBlock(b, out, i);
  }
}

}  // namespace dv::quant::internal
