// Greedy tokens and log-probabilities served over HTTP (/v1/completions with logprobs) agree with
// llama.cpp's own reference outputs for the same model and prompt
// (../shared/fixtures/llamacpp-oracle: tiny-qwen2-s1-f16.gguf and its .json; see its README).
// Tolerance 5e-3: llama.cpp rounds activations to 8 bits in its matrix products (README).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/tokenizer/load_gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "http_client.h"
#include "test_util.h"

namespace dv::server::testing {
namespace {

using nlohmann::json;

// A token's bytes as they appear in the JSON response (invalid UTF-8 replaced by U+FFFD).
std::string AsJsonText(std::string_view bytes) {
  return json::parse(json(std::string(bytes)).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

TEST(ServerOracle, CompletionLogprobsMatchLlamaCpp) {
  const auto model = dv::testing::SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.gguf");
  const auto reference = dv::testing::SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.json");
  if (model.empty() || reference.empty()) GTEST_SKIP() << "../shared/fixtures/llamacpp-oracle is absent";
  auto spec = tok::LoadGgufSpec(model);
  ASSERT_TRUE(spec.ok()) << spec.status().Describe();
  auto tokenizer = tok::Tokenizer::Create(std::move(spec).value());
  ASSERT_TRUE(tokenizer.ok());
  ServerOptions o;
  o.registry.load.n_ctx = 256;
  o.registry.load.n_slots = 4;
  auto server = StartServer({{"oracle", model.string()}}, o);
  ASSERT_NE(server, nullptr);

  const json cases = json::parse(dv::testing::ReadFile(reference));
  ASSERT_FALSE(cases.empty());
  int compared = 0;
  for (const auto& c : cases) {
    const json& steps = c["steps"];
    json req = {{"model", "oracle"},
                {"prompt", c["prompt_tokens"]},  // with BOS, exactly as llama.cpp evaluated it
                {"max_tokens", steps.size()},
                {"temperature", 0},
                {"logprobs", 5}};
    ClientResponse r = Call(server->port(), "POST", "/v1/completions", req.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const json lp = json::parse(r.body)["choices"][0]["logprobs"];
    ASSERT_EQ(lp["tokens"].size(), steps.size()) << c["prompt"];
    for (size_t k = 0; k < steps.size(); ++k) {
      const json& ref = steps[k];
      const int best = ref[0][0];
      const double gap = ref[0][1].get<double>() - ref[1][1].get<double>();
      const std::string best_text = AsJsonText(tokenizer.value()->TokenBytes(best));
      EXPECT_EQ(lp["tokens"][k], best_text) << c["prompt"] << " step " << k;
      EXPECT_NEAR(lp["token_logprobs"][k].get<double>(), ref[0][1].get<double>(), 5e-3) << c["prompt"] << " step " << k;
      // The top-5 values (keys are token texts, which can coincide: compare the sorted values).
      const json& top = lp["top_logprobs"][k];
      if (top.size() == 5) {
        std::vector<double> got;
        for (const auto& [text, value] : top.items()) got.push_back(value.get<double>());
        std::sort(got.rbegin(), got.rend());
        for (size_t j = 0; j < 5; ++j) {
          EXPECT_NEAR(got[j], ref[j][1].get<double>(), 5e-3) << c["prompt"] << " step " << k << " rank " << j;
        }
      }
      ++compared;
      if (gap < 5e-3) break;  // a near tie may legitimately resolve the other way from here on
    }
  }
  EXPECT_GE(compared, 32);
}

}  // namespace
}  // namespace dv::server::testing
