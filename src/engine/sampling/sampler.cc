#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace dv::sampling {
namespace {

Status Bad(const std::string& what) { return InvalidArgument("sampling: " + what); }

}  // namespace

Status SamplingParams::Validate(int n_vocab) const {
  if (!(temperature >= 0 && temperature <= 100)) return Bad("temperature must be in [0, 100]");
  if (top_k < 0) return Bad("top_k must be >= 0");
  if (!(top_p > 0 && top_p <= 1)) return Bad("top_p must be in (0, 1]");
  if (!(min_p >= 0 && min_p <= 1)) return Bad("min_p must be in [0, 1]");
  if (!(repetition_penalty > 0 && repetition_penalty <= 10)) return Bad("repetition_penalty must be in (0, 10]");
  if (!(presence_penalty >= -2 && presence_penalty <= 2)) return Bad("presence_penalty must be in [-2, 2]");
  if (!(frequency_penalty >= -2 && frequency_penalty <= 2)) return Bad("frequency_penalty must be in [-2, 2]");
  if (penalty_last_n < -1) return Bad("penalty_last_n must be >= -1");
  for (const auto& [id, bias] : logit_bias) {
    if (id < 0 || id >= n_vocab) {
      return Bad("logit_bias token id " + std::to_string(id) + " is outside [0, " + std::to_string(n_vocab) + ")");
    }
    if (!std::isfinite(bias) && !(std::isinf(bias) && bias < 0)) return Bad("logit_bias values must be finite or -inf");
  }
  return Status::Ok();
}

std::vector<TokenLogprob> TopLogprobs(std::span<const float> logits, int k) {
  const int n = static_cast<int>(logits.size());
  k = std::clamp(k, 0, n);
  if (k == 0) return {};
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  const double log_z = max + std::log(sum);
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  std::vector<TokenLogprob> out(k);
  for (int i = 0; i < k; ++i) out[i] = {ids[i], static_cast<float>(logits[ids[i]] - log_z)};
  return out;
}

TokenLogprob LogprobOf(std::span<const float> logits, int32_t id) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  return {id, static_cast<float>(logits[static_cast<size_t>(id)] - (max + std::log(sum)))};
}

Sampler::Sampler(const SamplingParams& params, int n_vocab) : params_(params), n_vocab_(n_vocab), rng_(params.seed) {}

Result<Sampler> Sampler::Create(const SamplingParams& params, int n_vocab) {
  if (n_vocab <= 0) return Bad("empty vocabulary");
  DV_RETURN_IF_ERROR(params.Validate(n_vocab));
  return Sampler(params, n_vocab);
}

// Softmax over all candidates, then sorts (best first) only as long a prefix as top-p / min-p can
// keep: 1,024 candidates, growing eightfold while the cut is not inside. Returns the prefix length
// and its probabilities. With neither cut every candidate is sorted (sampling walks them in order).
template <typename Better>
size_t Sampler::SortedPrefix(const Better& better, std::vector<double>* prob) {
  const size_t n = candidates_.size();
  float max = -INFINITY;
  for (const auto& c : candidates_) max = std::max(max, c.first);
  double sum = 0;
  for (const auto& c : candidates_) sum += std::exp(static_cast<double>(c.first) - max);
  const SamplingParams& p = params_;
  const bool cut = p.top_p < 1.0 || p.min_p > 0.0;
  size_t k = cut ? std::min<size_t>(n, 1024) : n;
  for (;;) {
    if (k == n) {
      std::sort(candidates_.begin(), candidates_.end(), better);
    } else {
      std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(), better);
    }
    prob->resize(k);
    double cumulative = 0;
    bool inside = k == n;
    for (size_t i = 0; i < k; ++i) {
      (*prob)[i] = std::exp(static_cast<double>(candidates_[i].first) - max) / sum;
      cumulative += (*prob)[i];
      if (p.top_p < 1.0 && cumulative >= p.top_p) inside = true;
    }
    if (p.min_p > 0.0 && (*prob)[k - 1] < p.min_p * (*prob)[0]) inside = true;
    if (inside) return k;
    k = std::min(n, k * 8);
  }
}

double Sampler::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::Sample(std::span<const float> logits, std::span<const int32_t> history) {
  work_.assign(logits.begin(), logits.end());
  for (const auto& [id, bias] : params_.logit_bias) work_[id] += bias;

  const SamplingParams& p = params_;
  if (p.repetition_penalty != 1.0 || p.presence_penalty != 0.0 || p.frequency_penalty != 0.0) {
    size_t start = 0;
    if (p.penalty_last_n >= 0 && history.size() > static_cast<size_t>(p.penalty_last_n)) {
      start = history.size() - p.penalty_last_n;
    }
    std::unordered_map<int32_t, int> counts;
    for (size_t i = start; i < history.size(); ++i) {
      if (history[i] >= 0 && history[i] < n_vocab_) ++counts[history[i]];
    }
    for (const auto& [id, count] : counts) {
      float& l = work_[id];
      if (p.repetition_penalty != 1.0) {
        l = l > 0 ? static_cast<float>(l / p.repetition_penalty) : static_cast<float>(l * p.repetition_penalty);
      }
      l -= static_cast<float>(p.frequency_penalty * count + p.presence_penalty);
    }
  }

  if (p.temperature == 0.0) {
    return static_cast<int32_t>(std::max_element(work_.begin(), work_.end()) - work_.begin());
  }
  candidates_.clear();
  candidates_.reserve(work_.size());
  for (int32_t i = 0; i < n_vocab_; ++i) {
    if (work_[i] != -INFINITY) candidates_.push_back({static_cast<float>(work_[i] / p.temperature), i});
  }
  if (candidates_.empty()) return 0;  // every token banned by logit bias: nothing better to do
  auto better = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  size_t n = candidates_.size();
  std::vector<double> prob;
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < n) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + p.top_k, candidates_.end(), better);
    n = p.top_k;
    // Softmax over the survivors (sorted, best first).
    const float max = candidates_[0].first;
    prob.resize(n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += prob[i] = std::exp(static_cast<double>(candidates_[i].first) - max);
    for (double& q : prob) q /= sum;
  } else {
    n = SortedPrefix(better, &prob);
  }
  if (p.top_p < 1.0) {
    double cumulative = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cumulative += prob[i];
      if (cumulative >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  if (p.min_p > 0.0) {
    const double threshold = p.min_p * prob[0];
    size_t keep = 1;
    while (keep < n && prob[keep] >= threshold) ++keep;
    n = keep;
  }
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += prob[i];
  double r = Uniform() * total;
  for (size_t i = 0; i < n; ++i) {
    r -= prob[i];
    if (r < 0) return candidates_[i].second;
  }
  return candidates_[n - 1].second;
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (s.empty()) continue;
    max_len_ = std::max(max_len_, s.size());
    stops_.push_back(std::move(s));
  }
}

StopMatcher::Output StopMatcher::Feed(std::string_view piece) {
  pending_ += piece;
  Output out;
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) {
    out.text = pending_.substr(0, first);
    out.stopped = true;
    pending_.clear();
    return out;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t len = std::min(s.size() - 1, pending_.size()); len > hold; --len) {
      if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  out.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::Flush() {
  std::string rest = std::move(pending_);
  pending_.clear();
  return rest;
}

}  // namespace dv::sampling
