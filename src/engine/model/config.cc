#include "engine/model/config.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dv::model {
namespace {

Status Range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return InvalidArgument(std::string("model config: ") + name + " = " + std::to_string(v) + " is outside [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return Status::Ok();
}

}  // namespace

std::vector<double> RopeConfig::InverseFrequencies() const {
  const int half = n_rot / 2;
  std::vector<double> inv(half);
  for (int i = 0; i < half; ++i) inv[i] = 1.0 / std::pow(base, 2.0 * i / n_rot);
  switch (scaling) {
    case RopeScaling::kNone: break;
    case RopeScaling::kLinear:
      for (double& f : inv) f /= factor;
      break;
    case RopeScaling::kLlama3: {
      // Long wavelengths are interpolated by `factor`, short ones kept, the band between blended.
      const double orig = static_cast<double>(original_context);
      const double low_wavelen = orig / low_freq_factor, high_wavelen = orig / high_freq_factor;
      for (double& f : inv) {
        const double wavelen = 2 * std::numbers::pi / f;
        if (wavelen < high_wavelen) continue;
        if (wavelen > low_wavelen) {
          f /= factor;
          continue;
        }
        const double smooth = (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
        f = (1 - smooth) * f / factor + smooth * f;
      }
      break;
    }
    case RopeScaling::kYarn: {
      // Pairs below `low` keep their frequency (extrapolate), above `high` are divided by factor
      // (interpolate), linear ramp between (YaRN, Peng et al. 2023, as HF and llama.cpp compute it).
      const double orig = static_cast<double>(original_context);
      auto correction_dim = [&](double beta) {
        return n_rot * std::log(orig / (beta * 2 * std::numbers::pi)) / (2 * std::log(base));
      };
      double low = std::max(0.0, std::floor(correction_dim(yarn_beta_fast)));
      double high = std::min(static_cast<double>(n_rot - 1), std::ceil(correction_dim(yarn_beta_slow)));
      if (high == low) high += 0.001;
      for (int i = 0; i < half; ++i) {
        const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
        const double extrapolate = 1 - ramp;
        inv[i] = inv[i] / factor * (1 - extrapolate) + inv[i] * extrapolate;
      }
      break;
    }
  }
  if (!freq_factors.empty()) {
    for (int i = 0; i < half; ++i) inv[i] /= freq_factors[i];
  }
  return inv;
}

double RopeConfig::Magnitude() const {
  if (scaling != RopeScaling::kYarn) return 1.0;
  if (attn_factor > 0) return attn_factor;
  return factor > 1 ? 1.0 + 0.1 * std::log(factor) : 1.0;
}

Status ModelConfig::Validate() const {
  DV_RETURN_IF_ERROR(Range("block_count", n_layer, 1, 1024));
  DV_RETURN_IF_ERROR(Range("embedding_length", n_embd, 1, 1 << 17));
  DV_RETURN_IF_ERROR(Range("attention.head_count", n_head, 1, 1024));
  DV_RETURN_IF_ERROR(Range("attention.head_count_kv", n_head_kv, 1, n_head));
  DV_RETURN_IF_ERROR(Range("attention.key_length", head_dim, 2, 4096));
  DV_RETURN_IF_ERROR(Range("feed_forward_length", n_ff, 1, 1 << 20));
  DV_RETURN_IF_ERROR(Range("vocab size", n_vocab, 1, 1 << 22));
  DV_RETURN_IF_ERROR(Range("context_length", n_ctx_train, 1, int64_t{1} << 24));
  DV_RETURN_IF_ERROR(Range("rope.dimension_count", rope.n_rot, 2, head_dim));
  if (n_head % n_head_kv != 0) {
    return InvalidArgument("model config: attention.head_count " + std::to_string(n_head) +
                           " is not a multiple of head_count_kv " + std::to_string(n_head_kv));
  }
  if (rope.n_rot % 2 != 0) return InvalidArgument("model config: rope.dimension_count must be even");
  if (!(rms_eps > 0 && rms_eps < 1)) return InvalidArgument("model config: rms epsilon must be in (0, 1)");
  if (!(rope.base > 1 && std::isfinite(rope.base))) return InvalidArgument("model config: rope.freq_base must be > 1");
  if (rope.scaling != RopeScaling::kNone && !(rope.factor > 0 && std::isfinite(rope.factor))) {
    return InvalidArgument("model config: rope.scaling.factor must be positive");
  }
  if ((rope.scaling == RopeScaling::kYarn || rope.scaling == RopeScaling::kLlama3) && rope.original_context <= 0) {
    return InvalidArgument("model config: rope scaling needs rope.scaling.original_context_length");
  }
  if (rope.scaling == RopeScaling::kLlama3 && !(rope.high_freq_factor > rope.low_freq_factor)) {
    return InvalidArgument("model config: llama3 rope needs high_freq_factor > low_freq_factor");
  }
  if (!rope.freq_factors.empty() && rope.freq_factors.size() != static_cast<size_t>(rope.n_rot / 2)) {
    return InvalidArgument("model config: rope_freqs has " + std::to_string(rope.freq_factors.size()) +
                           " entries, expected " + std::to_string(rope.n_rot / 2));
  }
  return Status::Ok();
}

}  // namespace dv::model
