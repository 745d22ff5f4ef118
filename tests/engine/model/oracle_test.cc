// Teacher-forced agreement with llama.cpp (../shared/fixtures/llamacpp-oracle/): one random-weight
// qwen2 model in six weight formats, 4 prompts x 16 greedy steps of llama.cpp's top-8
// log-probabilities. For each format we check the mean absolute difference of our log-probabilities
// for llama.cpp's ids, and that our arg-max equals llama.cpp's wherever its top-2 margin exceeds
// the tolerance.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>

#include "model_test_util.h"
#include "test_util.h"

namespace dv::model {
namespace {

struct Format {
  const char* name;
  double mean_tolerance;  // mean |ours - llama.cpp| over all checked log-probabilities
};

class OracleTest : public ::testing::TestWithParam<Format> {};

TEST_P(OracleTest, LogprobsAgreeWithLlamaCpp) {
  const Format f = GetParam();
  const std::string stem = std::string("fixtures/llamacpp-oracle/tiny-qwen2-s1-") + f.name;
  const auto model_path = dv::testing::SharedPath(stem + ".gguf");
  const auto json_path = dv::testing::SharedPath(stem + ".json");
  if (model_path.empty() || json_path.empty()) GTEST_SKIP() << "../shared llama.cpp oracle fixtures are absent";
  const auto oracle = nlohmann::json::parse(dv::testing::ReadFile(json_path));
  auto h = testing::Harness::Open(model_path, 128);
  ASSERT_NE(h, nullptr);
  const size_t V = h->source->config().n_vocab;

  double sum_diff = 0, max_diff = 0;
  int n_diff = 0, argmax_checked = 0;
  for (const auto& prompt : oracle) {
    h->Reset();
    std::vector<int32_t> feed = prompt["prompt_tokens"].get<std::vector<int32_t>>();
    for (const auto& step : prompt["steps"]) {
      const std::vector<float> logits = h->Feed(feed);
      const std::vector<double> lp = testing::LogSoftmax(logits.data(), V);
      for (const auto& entry : step) {
        const int id = entry[0].get<int>();
        const double d = std::fabs(lp[id] - entry[1].get<double>());
        sum_diff += d;
        max_diff = std::max(max_diff, d);
        ++n_diff;
      }
      const double margin = step[0][1].get<double>() - step[1][1].get<double>();
      if (margin > f.mean_tolerance * 2) {
        const int ours = static_cast<int>(std::max_element(lp.begin(), lp.end()) - lp.begin());
        EXPECT_EQ(ours, step[0][0].get<int>()) << f.name << " prompt \"" << prompt["prompt"] << "\"";
        ++argmax_checked;
      }
      feed = {step[0][0].get<int32_t>()};  // llama.cpp's greedy path
    }
  }
  const double mean = sum_diff / n_diff;
  std::printf("[ oracle   ] %-7s mean |dlogprob| %.2e  max %.2e  over %d values, arg-max checked at %d steps\n", f.name,
              mean, max_diff, n_diff, argmax_checked);
  EXPECT_EQ(n_diff, 4 * 16 * 8);
  EXPECT_LE(mean, f.mean_tolerance) << f.name;
  EXPECT_GT(argmax_checked, 32);
}

INSTANTIATE_TEST_SUITE_P(SixFormats, OracleTest,
                         // Reached: f16 1.5e-3; the quantized formats 2.2e-2 .. 3.2e-2 (the issue aims at
                         // 2e-3 for Q8_0: not reached, see docs — our activation quantization is
                         // llama.cpp's reference one, yet the noise is uncorrelated with theirs).
                         ::testing::Values(Format{"f16", 2e-3}, Format{"q8_0", 2.5e-2}, Format{"q4_0", 3.5e-2},
                                           Format{"q4_k_m", 3.5e-2}, Format{"q5_k_m", 3.5e-2}, Format{"q6_k", 3.5e-2}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace dv::model
