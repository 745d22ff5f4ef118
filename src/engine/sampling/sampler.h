// Token sampling from logits: greedy, temperature, top-k, top-p, min-p, repetition / presence /
// frequency penalties, logit bias, seeded randomness; top-N log-probabilities.
//
// Order of operations on one step's logits (vocabulary V):
//   1. logit bias (added), 2. penalties over the recent history (repetition: positive logits divided,
//   negative multiplied; presence: minus once per seen token; frequency: minus per occurrence),
//   3. temperature == 0 → arg-max (ties → lowest id), else divide by temperature,
//   4. top-k, 5. top-p (smallest set with cumulative probability >= p), 6. min-p (drop tokens whose
//   probability is below min_p × the best one's), 7. draw from the renormalized distribution.
// The same seed, parameters and logits give the same tokens on every run and platform (own PRNG).
//
// Thread safety: a Sampler is one per sequence (it holds the random state).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "deepvault/status.h"

namespace dv::sampling {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  int top_k = 0;             // 0: off
  double top_p = 1.0;        // 1: off
  double min_p = 0.0;        // 0: off
  double repetition_penalty = 1.0;  // 1: off
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  int penalty_last_n = 64;  // history window for the penalties (-1: all)
  std::vector<std::pair<int32_t, float>> logit_bias;
  uint64_t seed = 0;

  // InvalidArgument naming the parameter when out of range (temperature < 0 or > 100, top_p
  // outside (0, 1], min_p outside [0, 1], top_k < 0, repetition_penalty <= 0, penalties outside
  // [-2, 2], a bias for an id outside [0, n_vocab) or not finite).
  Status Validate(int n_vocab) const;
};

struct TokenLogprob {
  int32_t id;
  float logprob;  // natural log
};

// The k most probable tokens of softmax(logits) over the full vocabulary, best first (ties: lower id).
std::vector<TokenLogprob> TopLogprobs(std::span<const float> logits, int k);
// log softmax(logits)[id]. REQUIRES: 0 <= id < logits.size().
TokenLogprob LogprobOf(std::span<const float> logits, int32_t id);

class Sampler {
 public:
  // Validates the parameters.
  static Result<Sampler> Create(const SamplingParams& params, int n_vocab);

  // Picks the next token. `history` is the sequence so far (prompt and generated ids) for the
  // penalties. REQUIRES: logits.size() == n_vocab.
  int32_t Sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  Sampler(const SamplingParams& params, int n_vocab);
  double Uniform();  // [0, 1)
  template <typename Better>
  size_t SortedPrefix(const Better& better, std::vector<double>* prob);

  SamplingParams params_;
  int n_vocab_;
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// Finds stop strings in generated text that arrives in pieces (one per token), holding back any
// suffix that could be the start of a stop string so that nothing past a stop is ever emitted.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Output {
    std::string text;  // safe to emit now
    bool stopped = false;  // a stop string was found; `text` ends right before it
  };
  Output Feed(std::string_view piece);
  // The held-back text at the end of generation (no stop found).
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  size_t max_len_ = 0;
  std::string pending_;
};

}  // namespace dv::sampling
