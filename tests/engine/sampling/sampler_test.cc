// Sampler behaviour against the definitions (softmax, nucleus, min-p, penalties as llama.cpp /
// OpenAI define them) and StopMatcher across token boundaries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <span>
#include <vector>

#include "engine/sampling/sampler.h"

namespace dv::sampling {
namespace {

std::vector<float> LogitsFromProbs(const std::vector<double>& p) {
  std::vector<float> l;
  for (double q : p) l.push_back(static_cast<float>(std::log(q)));
  return l;
}

std::map<int32_t, double> Frequencies(SamplingParams params, const std::vector<float>& logits, int draws) {
  auto s = Sampler::Create(params, static_cast<int>(logits.size()));
  EXPECT_TRUE(s.ok());
  std::map<int32_t, double> f;
  for (int i = 0; i < draws; ++i) f[s->Sample(logits, {})] += 1.0 / draws;
  return f;
}

TEST(SamplingParams, RejectsEachInvalidParameterByName) {
  struct Case {
    SamplingParams p;
    const char* name;
  };
  std::vector<Case> cases(9);
  cases[0].p.temperature = -0.1, cases[0].name = "temperature";
  cases[1].p.temperature = NAN, cases[1].name = "temperature";
  cases[2].p.top_p = 0, cases[2].name = "top_p";
  cases[3].p.top_p = 1.5, cases[3].name = "top_p";
  cases[4].p.min_p = -1, cases[4].name = "min_p";
  cases[5].p.top_k = -3, cases[5].name = "top_k";
  cases[6].p.repetition_penalty = 0, cases[6].name = "repetition_penalty";
  cases[7].p.presence_penalty = 3, cases[7].name = "presence_penalty";
  cases[8].p.logit_bias = {{10, 1.f}}, cases[8].name = "logit_bias";
  for (const Case& c : cases) {
    auto s = Sampler::Create(c.p, 10);
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.name), std::string::npos) << s.status().message();
  }
  EXPECT_TRUE(Sampler::Create(SamplingParams{}, 10).ok());
}

TEST(Sampler, GreedyTakesTheArgMaxLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0;
  auto s = Sampler::Create(p, 4);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->Sample(std::vector<float>{0.f, 3.f, 3.f, 1.f}, {}), 1);
}

TEST(Sampler, TemperatureOneFollowsTheSoftmax) {
  const auto f = Frequencies({}, LogitsFromProbs({0.5, 0.3, 0.2}), 40000);
  EXPECT_NEAR(f.at(0), 0.5, 0.015);
  EXPECT_NEAR(f.at(1), 0.3, 0.015);
  EXPECT_NEAR(f.at(2), 0.2, 0.015);
}

TEST(Sampler, LowTemperatureSharpens) {
  SamplingParams p;
  p.temperature = 0.5;  // probabilities ∝ p^2: .25/.38, .09/.38, .04/.38
  const auto f = Frequencies(p, LogitsFromProbs({0.5, 0.3, 0.2}), 40000);
  EXPECT_NEAR(f.at(0), 0.25 / 0.38, 0.015);
  EXPECT_NEAR(f.at(2), 0.04 / 0.38, 0.01);
}

TEST(Sampler, TopKTopPAndMinPTruncate) {
  const auto logits = LogitsFromProbs({0.5, 0.3, 0.15, 0.05});
  SamplingParams k1;
  k1.top_k = 1;
  EXPECT_EQ(Frequencies(k1, logits, 500).size(), 1u);
  SamplingParams top_p;
  top_p.top_p = 0.7;  // 0.5 < 0.7 <= 0.8: keeps {0, 1}, renormalized to .625/.375
  auto f = Frequencies(top_p, logits, 40000);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_NEAR(f.at(0), 0.625, 0.015);
  SamplingParams min_p;
  min_p.min_p = 0.35;  // threshold 0.175: keeps {0, 1}
  f = Frequencies(min_p, logits, 20000);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_NEAR(f.at(1), 0.375, 0.015);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const auto logits = LogitsFromProbs({0.25, 0.25, 0.25, 0.25});
  auto run = [&](uint64_t seed) {
    SamplingParams p;
    p.seed = seed;
    auto s = Sampler::Create(p, 4);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s->Sample(logits, {}));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

// The definition of top-p / min-p sampling written out plainly: sort every candidate, softmax,
// cut, draw. The sampler sorts only a prefix; with the same seed it must draw the same tokens.
struct ReferenceSampler {
  std::vector<std::pair<float, int32_t>> c;  // sorted best first
  std::vector<double> prob;
  size_t n = 0;  // survivors of the cuts

  ReferenceSampler(std::span<const float> logits, const SamplingParams& p) {
    for (int32_t i = 0; i < static_cast<int32_t>(logits.size()); ++i) {
      c.push_back({static_cast<float>(logits[i] / p.temperature), i});
    }
    std::sort(c.begin(), c.end(),
              [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    double sum = 0;
    for (const auto& x : c) sum += std::exp(static_cast<double>(x.first) - c[0].first);
    for (const auto& x : c) prob.push_back(std::exp(static_cast<double>(x.first) - c[0].first) / sum);
    n = c.size();
    if (p.top_p < 1.0) {
      double cumulative = 0;
      for (size_t i = 0; i < n; ++i) {
        cumulative += prob[i];
        if (cumulative >= p.top_p) {
          n = i + 1;
          break;
        }
      }
    }
    if (p.min_p > 0.0) {
      size_t keep = 1;
      while (keep < n && prob[keep] >= p.min_p * prob[0]) ++keep;
      n = keep;
    }
  }
  int32_t Draw(std::mt19937_64& rng) const {
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += prob[i];
    double r = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
    for (size_t i = 0; i < n; ++i) {
      r -= prob[i];
      if (r < 0) return c[i].second;
    }
    return c[n - 1].second;
  }
};

TEST(Sampler, PartialSortDrawsWhatAFullSortDraws) {
  // A 152k vocabulary with flat (random model) and peaked (trained model) logits: the top-p cut
  // falls after a few tokens or after tens of thousands.
  const int n_vocab = 151936;
  std::mt19937 gen(11);
  std::normal_distribution<float> normal;
  for (float spread : {0.05f, 1.f, 6.f}) {
    std::vector<float> logits(n_vocab);
    for (float& l : logits) l = normal(gen) * spread;
    logits[42] += 3 * spread;
    for (double top_p : {0.5, 0.95, 1.0}) {
      for (double min_p : {0.0, 0.05}) {
        SamplingParams p;
        p.temperature = 0.6;
        p.top_p = top_p;
        p.min_p = min_p;
        p.seed = 99;
        auto sampler = Sampler::Create(p, n_vocab);
        ASSERT_TRUE(sampler.ok());
        const ReferenceSampler reference(logits, p);
        std::mt19937_64 ref_rng(p.seed);
        for (int draw = 0; draw < 5; ++draw) {
          ASSERT_EQ(sampler->Sample(logits, {}), reference.Draw(ref_rng))
              << "spread " << spread << " top_p " << top_p << " min_p " << min_p << " draw " << draw;
        }
      }
    }
  }
}

TEST(Sampler, PenaltiesAndBias) {
  const std::vector<float> logits = {2.0f, 1.9f, -1.0f, 1.0f};
  const std::vector<int32_t> history = {0, 2};
  SamplingParams rep;
  rep.temperature = 0;
  rep.repetition_penalty = 1.1;  // 2.0 / 1.1 = 1.82 < 1.9
  EXPECT_EQ(Sampler::Create(rep, 4)->Sample(logits, history), 1);
  SamplingParams freq;
  freq.temperature = 0;
  freq.frequency_penalty = 0.5;  // token 0 seen twice: 2.0 - 1.0 = 1.0, token 1 wins
  EXPECT_EQ(Sampler::Create(freq, 4)->Sample(logits, std::vector<int32_t>{0, 0}), 1);
  SamplingParams presence;
  presence.temperature = 0;
  presence.presence_penalty = 0.05;  // once per seen token: 1.95 > 1.9, token 0 still wins
  EXPECT_EQ(Sampler::Create(presence, 4)->Sample(logits, std::vector<int32_t>{0, 0}), 0);
  SamplingParams window = rep;
  window.penalty_last_n = 1;  // only token 2 is in the window
  EXPECT_EQ(Sampler::Create(window, 4)->Sample(logits, history), 0);
  SamplingParams bias;
  bias.temperature = 1.0;
  bias.logit_bias = {{0, -INFINITY}, {1, -INFINITY}, {2, -INFINITY}};
  auto s = Sampler::Create(bias, 4);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s->Sample(logits, {}), 3);
}

TEST(TopLogprobs, NaturalLogSoftmaxOverTheFullVocabularyBestFirst) {
  const std::vector<float> logits = {1.f, 3.f, 2.f, 3.f, -5.f};
  double z = 0;
  for (float l : logits) z += std::exp(l);
  const auto top = TopLogprobs(logits, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 3);
  EXPECT_EQ(top[2].id, 2);
  EXPECT_NEAR(top[0].logprob, 3 - std::log(z), 1e-6);
  EXPECT_NEAR(top[2].logprob, 2 - std::log(z), 1e-6);
  EXPECT_EQ(TopLogprobs(logits, 99).size(), 5u);
}

TEST(LogprobOf, MatchesTopLogprobsAndSumsToOne) {
  const std::vector<float> logits = {1.f, 3.f, 2.f, 3.f, -5.f};
  double total = 0;
  for (int32_t id = 0; id < 5; ++id) {
    const TokenLogprob lp = LogprobOf(logits, id);
    EXPECT_EQ(lp.id, id);
    total += std::exp(static_cast<double>(lp.logprob));
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_FLOAT_EQ(LogprobOf(logits, 2).logprob, TopLogprobs(logits, 3)[2].logprob);
  // Large logits do not overflow.
  EXPECT_NEAR(LogprobOf(std::vector<float>{1000.f, 1000.f}, 1).logprob, -std::log(2.0), 1e-6);
}

TEST(StopMatcher, FindsStopsAcrossPiecesAndNeverEmitsPastThem) {
  StopMatcher m({"</think>", "\n\n"});
  std::string emitted;
  bool stopped = false;
  for (const char* piece : {"abc", "</th", "inx ok", " then </", "think> never"}) {
    auto out = m.Feed(piece);
    emitted += out.text;
    if (out.stopped) {
      stopped = true;
      break;
    }
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(emitted, "abc</thinx ok then ");
}

TEST(StopMatcher, FlushReturnsHeldBackPrefix) {
  StopMatcher m({"STOP"});
  auto out = m.Feed("hello ST");
  EXPECT_EQ(out.text, "hello ");
  EXPECT_FALSE(out.stopped);
  EXPECT_EQ(m.Flush(), "ST");
  StopMatcher none({});
  EXPECT_EQ(none.Feed("anything").text, "anything");
}

}  // namespace
}  // namespace dv::sampling
