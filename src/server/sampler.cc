#include "server/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dv::server {

void ComputeLogprobs(std::span<const float> logits, int32_t token, int top_n, TokenLogprob* chosen,
                     std::vector<TokenLogprob>* top) {
  float max_logit = -std::numeric_limits<float>::infinity();
  for (float l : logits) max_logit = std::max(max_logit, l);
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - max_logit));
  const double log_z = static_cast<double>(max_logit) + std::log(sum);
  if (chosen) {
    chosen->token = token;
    chosen->logprob = static_cast<float>(logits[static_cast<size_t>(token)] - log_z);
  }
  if (top && top_n > 0) {
    std::vector<int32_t> ids(logits.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
    const size_t n = std::min<size_t>(static_cast<size_t>(top_n), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(n), ids.end(), [&](int32_t a, int32_t b) {
      return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
             (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
    });
    top->clear();
    for (size_t i = 0; i < n; ++i) {
      top->push_back({ids[i], static_cast<float>(logits[static_cast<size_t>(ids[i])] - log_z)});
    }
  }
}

Sampler::Sampler(const SamplingParams& params) : p_(params) {
  rng_.seed(p_.has_seed ? p_.seed : std::random_device{}());
}

void Sampler::Accept(int32_t token) {
  ++counts_[token];
  if (p_.repeat_last_n != 0 && p_.repeat_penalty != 1.0) {
    recent_.push_back(token);
    if (p_.repeat_last_n > 0 && recent_.size() > static_cast<size_t>(p_.repeat_last_n)) {
      recent_.erase(recent_.begin());
    }
  }
}

int32_t Sampler::Sample(std::span<float> logits, int top_n, TokenLogprob* chosen, std::vector<TokenLogprob>* top) {
  const size_t n_vocab = logits.size();
  // Log-probabilities are reported from the unmodified distribution; compute them lazily after
  // choosing, so keep a copy only when asked.
  std::vector<float> raw;
  if (top_n > 0 || chosen) raw.assign(logits.begin(), logits.end());

  for (const auto& [token, bias] : p_.logit_bias) {
    if (token >= 0 && static_cast<size_t>(token) < n_vocab) logits[static_cast<size_t>(token)] += bias;
  }
  if (p_.repeat_penalty != 1.0) {
    for (int32_t t : recent_) {
      float& l = logits[static_cast<size_t>(t)];
      l = l > 0 ? static_cast<float>(l / p_.repeat_penalty) : static_cast<float>(l * p_.repeat_penalty);
    }
  }
  if (p_.presence_penalty != 0.0 || p_.frequency_penalty != 0.0) {
    for (const auto& [t, count] : counts_) {
      if (t < 0 || static_cast<size_t>(t) >= n_vocab) continue;
      logits[static_cast<size_t>(t)] -=
          static_cast<float>(p_.frequency_penalty * count + p_.presence_penalty * (count > 0 ? 1.0 : 0.0));
    }
  }

  int32_t result = 0;
  if (p_.temperature <= 0.0) {
    result = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  } else {
    candidates_.clear();
    candidates_.reserve(n_vocab);
    const float inv_t = static_cast<float>(1.0 / p_.temperature);
    for (size_t i = 0; i < n_vocab; ++i) candidates_.push_back({logits[i] * inv_t, static_cast<int32_t>(i)});
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    size_t keep = candidates_.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) keep = static_cast<size_t>(p_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(keep), candidates_.end(),
                      by_logit);
    candidates_.resize(keep);
    const float max_l = candidates_.front().first;
    std::vector<double> probs(keep);
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += probs[i] = std::exp(static_cast<double>(candidates_[i].first - max_l));
    for (double& p : probs) p /= sum;
    size_t cut = keep;
    if (p_.top_p < 1.0) {
      double cum = 0;
      for (size_t i = 0; i < keep; ++i) {
        cum += probs[i];
        if (cum >= p_.top_p) {
          cut = i + 1;
          break;
        }
      }
    }
    if (p_.min_p > 0.0) {
      const double threshold = probs[0] * p_.min_p;
      size_t i = 1;
      while (i < cut && probs[i] >= threshold) ++i;
      cut = i;
    }
    double total = 0;
    for (size_t i = 0; i < cut; ++i) total += probs[i];
    const double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
    double cum = 0;
    result = candidates_[cut - 1].second;
    for (size_t i = 0; i < cut; ++i) {
      cum += probs[i];
      if (r < cum) {
        result = candidates_[i].second;
        break;
      }
    }
  }
  if (!raw.empty()) ComputeLogprobs(raw, result, top_n, chosen, top);
  return result;
}

}  // namespace dv::server
