// Runs a model source through the forward pass for tests: prefill, teacher forcing, greedy.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "engine/model/source.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/runtime/kv_cache.h"

namespace dv::model::testing {

// One loaded model with a single-sequence KV cache.
struct Harness {
  std::unique_ptr<ModelSource> source;
  ModelWeights weights;
  ModelConfig config;  // the source's, possibly adjusted by the test before Start()
  std::unique_ptr<runtime::KvCache> cache;
  std::unique_ptr<Transformer> transformer;
  int n_pos = 0;

  static std::unique_ptr<Harness> Open(const std::filesystem::path& path, int n_ctx, int n_threads = 2,
                                       runtime::KvType kv_type = runtime::KvType::kF16) {
    auto source = OpenModelSource(path);
    EXPECT_TRUE(source.ok()) << source.status().Describe();
    if (!source.ok()) return nullptr;
    auto h = std::make_unique<Harness>();
    h->source = std::move(source).value();
    auto weights = ModelWeights::Load(*h->source);
    EXPECT_TRUE(weights.ok()) << weights.status().Describe();
    if (!weights.ok()) return nullptr;
    h->weights = std::move(weights).value();
    h->config = h->source->config();
    h->n_ctx = n_ctx;
    h->n_threads = n_threads;
    h->kv_type = kv_type;
    h->Start();
    return h;
  }

  // (Re)builds the KV cache and the forward pass from `config`.
  void Start() {
    cache = std::make_unique<runtime::KvCache>(config.n_layer, 1, n_ctx, config.kv_dim(), kv_type);
    transformer = std::make_unique<Transformer>(config, weights, n_threads);
    n_pos = 0;
  }
  int n_ctx = 0, n_threads = 1;
  runtime::KvType kv_type = runtime::KvType::kF16;

  // Appends `tokens` to the sequence; returns the logits of every token ([n, vocab]) when
  // all_logits, else of the last one.
  std::vector<float> Feed(const std::vector<int32_t>& tokens, bool all_logits = false) {
    std::vector<BatchToken> batch;
    for (size_t i = 0; i < tokens.size(); ++i) {
      batch.push_back({tokens[i], 0, n_pos++, all_logits || i + 1 == tokens.size()});
    }
    std::vector<float> logits;
    Status s = transformer->Forward(batch, *cache, &logits, nullptr);
    EXPECT_TRUE(s.ok()) << s.Describe();
    return logits;
  }
  void Reset() { n_pos = 0; }
};

inline std::vector<double> LogSoftmax(const float* logits, size_t n) {
  const double max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(logits[i] - max);
  const double log_sum = std::log(sum) + max;
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = logits[i] - log_sum;
  return out;
}

}  // namespace dv::model::testing
