// Token sampling for one sequence: logit bias, repetition/presence/frequency penalties,
// temperature, top-k, top-p, min-p, seeded RNG; plus log-probabilities for the API's `logprobs`.
//
// Order of operations (as llama.cpp and the OpenAI API describe them):
//   logits += logit_bias
//   repeat penalty (÷ or × by repeat_penalty on tokens of the last repeat_last_n) ;
//   logits -= frequency_penalty · count(token) + presence_penalty · [count > 0]
//   temperature == 0 → arg-max (ties: lowest id)
//   else logits / temperature → top-k → softmax → top-p → min-p → draw with the sequence's RNG
// Log-probabilities are those of the model's own distribution (log-softmax of the raw logits),
// independent of the sampling settings, as OpenAI documents them.
//
// Thread safety: a Sampler belongs to one sequence; distinct Samplers are independent.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dv::server {

struct SamplingParams {
  double temperature = 1.0;  // 0 = greedy
  double top_p = 1.0;        // (0, 1]
  int top_k = 0;             // 0 = off
  double min_p = 0.0;        // [0, 1)
  double presence_penalty = 0.0;   // [-2, 2]
  double frequency_penalty = 0.0;  // [-2, 2]
  double repeat_penalty = 1.0;     // Ollama's; 1 = off
  int repeat_last_n = 64;          // window of repeat_penalty; 0 = off, -1 = whole history
  uint64_t seed = 0;
  bool has_seed = false;
  std::vector<std::pair<int32_t, float>> logit_bias;  // token → bias, -100 bans, +100 forces
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
};

class Sampler {
 public:
  // Without a seed the RNG is seeded from std::random_device.
  explicit Sampler(const SamplingParams& params);

  // Picks the next token from `logits` (n_vocab floats; modified in place). `top_n` > 0 also fills
  // *chosen with the chosen token's log-probability and *top with the top_n most likely tokens.
  int32_t Sample(std::span<float> logits, int top_n, TokenLogprob* chosen, std::vector<TokenLogprob>* top);

  // Records a token of the sequence (prompt or generated) for the penalties.
  void Accept(int32_t token);

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::unordered_map<int32_t, int> counts_;   // generated-token counts (presence/frequency)
  std::vector<int32_t> recent_;                // last repeat_last_n tokens
  std::vector<std::pair<float, int32_t>> candidates_;  // scratch
};

// Log-softmax of `logits` at `token`, and the `top_n` highest entries. REQUIRES: top_n >= 0.
void ComputeLogprobs(std::span<const float> logits, int32_t token, int top_n, TokenLogprob* chosen,
                     std::vector<TokenLogprob>* top);

}  // namespace dv::server
