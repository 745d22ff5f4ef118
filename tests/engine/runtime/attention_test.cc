// KV-cache attention kernels (engine/cpu/kv_attention.h), every path the CPU offers:
//  - each format (F32, F16, Q8_0; plain and AVX2) against softmax attention computed in double;
//  - the vectorised e^x of the SIMD paths against libm's exp in double, rounded to float;
//  - AttendHeads (grouped-query rows, causal prefill blocks) bit for bit against AttendHead per
//    row, and each SIMD path against the plain path on awkward sizes;
//  - the F16 accumulator's per-position fp16 rounding (llama.cpp's flash attention) against a
//    sequence of fp16 additions computed here with the fp16 conversion of engine/quant;
//  - the transformer's split of attention work (token runs × KV heads × head subgroups, which
//    depends on the thread count) leaves the logits unchanged, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "deepvault/engine.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/kv_attention.h"
#include "engine/quant/fp16.h"
#include "test_util.h"

namespace dv::cpu {
namespace {

using quant::TensorType;

float R16(float x) { return quant::Fp16ToFloat(quant::FloatToFp16(x)); }

// The feature sets to test: plain always, AVX2 and AVX-512 when this CPU has them.
struct Path {
  std::string name;
  CpuFeatures features;
};
std::vector<Path> Paths() {
  std::vector<Path> paths{{"plain", CpuFeatures{}}};
  if (Features().avx2) {
    CpuFeatures f;
    f.avx2 = true;
    paths.push_back({"avx2", f});
  }
  if (Features().avx512) {
    CpuFeatures f;
    f.avx2 = f.avx512 = true;
    paths.push_back({"avx512", f});
  }
  return paths;
}

// ---- one head against exact softmax attention ---------------------------------------------------

// Rows of n_pos keys and values of one head, stored in `type` with `stride` bytes per position
// (a second, unrelated head sits between them, as in the cache's [position][kv_dim] layout).
struct HeadData {
  int hd, n_pos;
  size_t stride;
  std::vector<float> q, k, v;   // float originals [n_pos, hd]
  std::vector<uint8_t> kc, vc;  // stored rows
};

HeadData MakeHead(TensorType type, int hd, int n_pos, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  HeadData h{hd, n_pos, 2 * KvRowBytes(type, hd), {}, {}, {}, {}, {}};
  h.q.resize(hd);
  for (float& x : h.q) x = 2.f * normal(rng);
  h.k.resize(static_cast<size_t>(n_pos) * hd);
  h.v.resize(h.k.size());
  for (float& x : h.k) x = normal(rng);
  for (float& x : h.v) x = normal(rng);
  h.kc.assign(h.stride * n_pos, 0xAB);
  h.vc.assign(h.stride * n_pos, 0xCD);
  for (int p = 0; p < n_pos; ++p) {
    StoreKvRow(type, &h.k[p * hd], hd, &h.kc[p * h.stride]);
    StoreKvRow(type, &h.v[p * hd], hd, &h.vc[p * h.stride]);
  }
  return h;
}

// Softmax attention in double over the float originals.
std::vector<double> Reference(const HeadData& h, float scale) {
  std::vector<double> s(h.n_pos), out(h.hd, 0.0);
  double max = -INFINITY, sum = 0;
  for (int p = 0; p < h.n_pos; ++p) {
    double dot = 0;
    for (int i = 0; i < h.hd; ++i) dot += static_cast<double>(h.q[i]) * h.k[p * h.hd + i];
    s[p] = dot * scale;
    max = std::max(max, s[p]);
  }
  for (double& x : s) sum += (x = std::exp(x - max));
  for (int p = 0; p < h.n_pos; ++p) {
    for (int i = 0; i < h.hd; ++i) out[i] += s[p] / sum * h.v[p * h.hd + i];
  }
  return out;
}

std::vector<float> Attend(TensorType type, const HeadData& h, float scale, const CpuFeatures& features) {
  std::vector<float> out(h.hd), scratch;
  AttendHead(type, h.hd, h.q.data(), h.kc.data(), h.vc.data(), h.stride, h.n_pos, scale, out.data(), scratch,
             features);
  return out;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct KernelCase {
  TensorType type;
  double tolerance;  // max |ours - exact| (values and outputs are O(1))
};

TEST(KvAttention, EachFormatMatchesExactSoftmaxAttention) {
  // F32 is exact to float rounding; F16 rounds q, k, v and every partial sum to fp16 (11 bits);
  // Q8_0 rounds q, k, v to 8 bits per block of 32.
  for (const KernelCase c : {KernelCase{TensorType::kF32, 2e-5}, KernelCase{TensorType::kF16, 1e-2},
                             KernelCase{TensorType::kQ8_0, 6e-2}}) {
    for (int hd : {8, 12, 32, 64, 128}) {
      if (!IsKvFormatSupported(c.type, hd)) {
        EXPECT_TRUE(c.type == TensorType::kQ8_0 && hd % 32 != 0);
        continue;
      }
      for (int n_pos : {1, 2, 7, 33, 130}) {
        const HeadData h = MakeHead(c.type, hd, n_pos, static_cast<uint32_t>(hd * 1000 + n_pos));
        const float scale = 1.f / std::sqrt(static_cast<float>(hd));
        const std::vector<double> ref = Reference(h, scale);
        const std::vector<float> plain = Attend(c.type, h, scale, CpuFeatures{});
        const std::vector<double> plain_d(plain.begin(), plain.end());
        for (const Path& path : Paths()) {
          const std::string where = std::string(quant::Traits(c.type).name) + " hd " + std::to_string(hd) +
                                    " n_pos " + std::to_string(n_pos) + " " + path.name;
          const std::vector<float> out = Attend(c.type, h, scale, path.features);
          EXPECT_LE(MaxAbsDiff(out, ref), c.tolerance) << where;
          // The paths differ only in the order of the q·k sums and e^x (and the fp16 roundings
          // those can flip), far below the format's own error.
          EXPECT_LE(MaxAbsDiff(out, plain_d), c.type == TensorType::kF32 ? 1e-5 : 2e-3) << where << " vs plain";
        }
      }
    }
  }
}

TEST(KvAttention, SinglePositionReturnsItsValue) {
  // softmax over one position is 1: the output is v itself, rounded by the format.
  const HeadData h = MakeHead(TensorType::kF16, 64, 1, 7);
  for (const Path& path : Paths()) {
    const auto out = Attend(TensorType::kF16, h, 0.125f, path.features);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(out[i], R16(h.v[i])) << path.name << " " << i;
  }
}

// ---- e^x of the SIMD paths -----------------------------------------------------------------------

// |got − e^x| in units of the float spacing at e^x (subnormal spacing below FLT_MIN).
double UlpError(float got, double exact) {
  const double spacing = std::max(std::ldexp(1.0, std::ilogb(exact) - 23), std::ldexp(1.0, -149));
  return std::fabs(got - exact) / spacing;
}

TEST(AttentionExp, CorrectlyRoundedAsLibm) {
  using ExpFn = void (*)(const float*, float*, int);
  std::vector<std::pair<std::string, ExpFn>> fns;
  if (Features().avx2) fns.emplace_back("avx2", &ExpAvx2);
  if (Features().avx512) fns.emplace_back("avx512", &ExpAvx512);
  if (fns.empty()) GTEST_SKIP() << "no SIMD exponential on this CPU";
  // Every 97th float of [-104, 88.7] (about 22 million values: both signs, all binades, the
  // subnormal results below -87.3 and the round-to-zero ones below -103.3).
  std::vector<float> x;
  for (uint32_t bits = std::bit_cast<uint32_t>(-104.f); bits > 0x80000000u; bits -= 97) x.push_back(std::bit_cast<float>(bits));
  for (uint32_t bits = 0; bits <= std::bit_cast<uint32_t>(88.7f); bits += 97) x.push_back(std::bit_cast<float>(bits));
  x.insert(x.end(), {0.f, -0.f, 1.f, -1.f, 0.5f, -0.6931472f, -87.33655f, -88.f, -100.f, -103.97f, 88.72283f});
  for (const auto& [name, fn] : fns) {
    std::vector<float> y(x.size());
    fn(x.data(), y.data(), static_cast<int>(x.size()));
    double worst = 0;
    float worst_x = 0;
    size_t not_nearest = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double exact = std::exp(static_cast<double>(x[i]));
      const double err = UlpError(y[i], exact);
      not_nearest += y[i] != static_cast<float>(exact);
      if (err > worst) worst = err, worst_x = x[i];
    }
    std::printf("[ exp      ] %-6s worst %.4f ulp at x = %.9g, %zu of %zu not the nearest float\n", name.c_str(),
                worst, worst_x, not_nearest, x.size());
    // A double within 1e-15 of e^x rounds to e^x's nearest float unless e^x is that close to a
    // midpoint: expected about once in 10^7 values.
    EXPECT_LE(worst, 0.5 + 1e-6) << name << " at x = " << worst_x;
    EXPECT_LE(not_nearest, 5u) << name;
    // Special values, and every tail length of the array form.
    const float special[] = {-INFINITY, -104.f, -1000.f, 0.f, 89.f, INFINITY, std::numeric_limits<float>::quiet_NaN()};
    float out[7];
    fn(special, out, 7);
    EXPECT_EQ(out[0], 0.f) << name;
    EXPECT_EQ(out[1], 0.f) << name;
    EXPECT_EQ(out[2], 0.f) << name;
    EXPECT_EQ(out[3], 1.f) << name;
    EXPECT_EQ(out[4], INFINITY) << name;
    EXPECT_EQ(out[5], INFINITY) << name;
    EXPECT_TRUE(std::isnan(out[6])) << name;
    for (int n = 1; n <= 17; ++n) {
      std::vector<float> in(n, -1.f), res(n + 1, 42.f);
      fn(in.data(), res.data(), n);
      for (int i = 0; i < n; ++i) EXPECT_EQ(res[i], static_cast<float>(std::exp(-1.0))) << name << " n " << n;
      EXPECT_EQ(res[n], 42.f) << name << " wrote past n = " << n;
    }
  }
}

// ---- grouped rows --------------------------------------------------------------------------------

// One KV head's cache of n_pos positions and query rows [n_tokens][n_heads][hd] (token stride
// q_stride floats, padded so that rows of different tokens are not adjacent).
struct GroupData {
  int hd, n_tokens, n_heads;
  size_t stride, q_stride;
  std::vector<int> n_pos;
  std::vector<float> q;
  std::vector<uint8_t> kc, vc;
};

GroupData MakeGroup(TensorType type, int hd, int n_heads, const std::vector<int>& n_pos, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  GroupData g{hd, static_cast<int>(n_pos.size()), n_heads, 3 * KvRowBytes(type, hd),
              static_cast<size_t>(n_heads + 1) * hd, n_pos, {}, {}, {}};
  g.q.resize(g.q_stride * g.n_tokens);
  for (float& x : g.q) x = 2.f * normal(rng);
  const int max_pos = *std::max_element(n_pos.begin(), n_pos.end());
  g.kc.assign(g.stride * max_pos, 0xAB);
  g.vc.assign(g.stride * max_pos, 0xCD);
  std::vector<float> row(hd);
  for (int p = 0; p < max_pos; ++p) {
    for (float& x : row) x = normal(rng);
    StoreKvRow(type, row.data(), hd, &g.kc[p * g.stride + KvRowBytes(type, hd)]);  // the middle head of three
    for (float& x : row) x = normal(rng);
    StoreKvRow(type, row.data(), hd, &g.vc[p * g.stride + KvRowBytes(type, hd)]);
  }
  return g;
}

// AttendHeads over all rows; outputs laid out like q.
std::vector<float> AttendGroup(TensorType type, const GroupData& g, float scale, const CpuFeatures& features) {
  std::vector<float> out(g.q.size(), -7.f), scratch;
  const size_t head = KvRowBytes(type, g.hd);
  const AttentionRows rows{g.q.data(), out.data(), g.q_stride, g.q_stride, g.n_tokens, g.n_heads, g.n_pos.data()};
  AttendHeads(type, g.hd, rows, g.kc.data() + head, g.vc.data() + head, g.stride, scale, scratch, features);
  return out;
}

// AttendHead row by row.
std::vector<float> AttendEachRow(TensorType type, const GroupData& g, float scale, const CpuFeatures& features) {
  std::vector<float> out(g.q.size(), -7.f), scratch;
  const size_t head = KvRowBytes(type, g.hd);
  for (int t = 0; t < g.n_tokens; ++t) {
    for (int h = 0; h < g.n_heads; ++h) {
      const size_t offset = t * g.q_stride + static_cast<size_t>(h) * g.hd;
      AttendHead(type, g.hd, g.q.data() + offset, g.kc.data() + head, g.vc.data() + head, g.stride, g.n_pos[t], scale,
                 out.data() + offset, scratch, features);
    }
  }
  return out;
}

struct GroupCase {
  int n_heads;
  std::vector<int> n_pos;  // per token
};

std::vector<GroupCase> GroupCases() {
  std::vector<GroupCase> cases;
  for (int heads : {1, 6, 8}) {
    for (int n : {1, 2, 17, 300, 1000}) cases.push_back({heads, {n}});  // decode
    // Causal prefill blocks: consecutive positions from 0, across a 64-position block, and 20
    // tokens of 6 or 8 heads (more rows than the kernel takes at once).
    cases.push_back({heads, {1, 2, 3, 4, 5}});
    cases.push_back({heads, {60, 61, 62, 63, 64, 65, 66, 67}});
    std::vector<int> long_block;
    for (int t = 0; t < 20; ++t) long_block.push_back(281 + t);
    cases.push_back({heads, long_block});
    cases.push_back({heads, {300, 1, 129, 64}});  // tokens of unrelated lengths
  }
  return cases;
}

std::string Describe(TensorType type, int hd, const GroupCase& c, const std::string& path) {
  std::string s(quant::Traits(type).name);
  s.append(" hd ").append(std::to_string(hd)).append(" heads ").append(std::to_string(c.n_heads));
  s.append(" ").append(path).append(" n_pos");
  for (size_t i = 0; i < std::min<size_t>(c.n_pos.size(), 4); ++i) s.append(" ").append(std::to_string(c.n_pos[i]));
  if (c.n_pos.size() > 4) s.append(" ...");
  return s;
}

TEST(KvAttention, GroupedRowsEqualOneRowAtATime) {
  // AttendHeads computes every row exactly as AttendHead does on the same path: bit for bit.
  for (TensorType type : {TensorType::kF16, TensorType::kF32, TensorType::kQ8_0}) {
    for (int hd : {8, 24, 40, 64, 128}) {
      if (!IsKvFormatSupported(type, hd)) continue;
      const float scale = 1.f / std::sqrt(static_cast<float>(hd));
      for (const GroupCase& c : GroupCases()) {
        const GroupData g = MakeGroup(type, hd, c.n_heads, c.n_pos, static_cast<uint32_t>(hd + c.n_pos[0]));
        for (const Path& path : Paths()) {
          const std::vector<float> grouped = AttendGroup(type, g, scale, path.features);
          const std::vector<float> single = AttendEachRow(type, g, scale, path.features);
          ASSERT_EQ(grouped, single) << Describe(type, hd, c, path.name);
        }
      }
    }
  }
}

TEST(KvAttention, SimdPathsAgreeWithThePlainPath) {
  // The SIMD paths sum q·k in another order (and e^x may differ from libm's in a tie): a score that differs in its last
  // bit can flip an fp16 rounding of the accumulator now and then (one fp16 ulp of a partial sum,
  // 2^-11 relative). Observed worst: 5.9e-4 (F16), 1.1e-6 (Q8_0), 2.2e-6 (F32) on these O(1) outputs.
  const std::vector<Path> paths = Paths();
  if (paths.size() == 1) GTEST_SKIP() << "no SIMD path on this CPU";
  for (TensorType type : {TensorType::kF16, TensorType::kF32, TensorType::kQ8_0}) {
    const double tolerance = type == TensorType::kF16 ? 1.5e-3 : 1e-5;
    double worst = 0;
    for (int hd : {8, 24, 40, 64, 128}) {
      if (!IsKvFormatSupported(type, hd)) continue;
      const float scale = 1.f / std::sqrt(static_cast<float>(hd));
      for (const GroupCase& c : GroupCases()) {
        const GroupData g = MakeGroup(type, hd, c.n_heads, c.n_pos, static_cast<uint32_t>(7 * hd + c.n_pos[0]));
        const std::vector<float> plain = AttendGroup(type, g, scale, CpuFeatures{});
        for (size_t i = 1; i < paths.size(); ++i) {
          const std::vector<float> out = AttendGroup(type, g, scale, paths[i].features);
          double diff = 0;
          for (size_t x = 0; x < out.size(); ++x) diff = std::max(diff, static_cast<double>(std::fabs(out[x] - plain[x])));
          worst = std::max(worst, diff);
          EXPECT_LE(diff, tolerance) << Describe(type, hd, c, paths[i].name);
        }
      }
    }
    std::printf("[ attn     ] %-4s worst |simd - plain| %.2e\n", std::string(quant::Traits(type).name).c_str(), worst);
  }
}

TEST(KvAttention, F16AccumulatorIsRoundedAfterEveryPosition) {
  // q = 0 makes every score 0: the first position sets the max (e^-inf = 0 scales the empty
  // accumulator), every later one has weight e^0 = 1. llama.cpp's flash attention then computes
  // acc = fp16(acc + v_p) position by position and out = acc / n_pos, which differs from the exact
  // mean by many fp16 roundings: every path must reproduce that sequence bit for bit.
  for (int hd : {40, 64, 128}) {
    for (int n_pos : {1, 17, 300, 1000}) {
      GroupData g = MakeGroup(TensorType::kF16, hd, 6, {n_pos, n_pos}, static_cast<uint32_t>(hd * n_pos));
      std::fill(g.q.begin(), g.q.end(), 0.f);
      std::vector<float> expected(hd, 0.f);
      const size_t head = KvRowBytes(TensorType::kF16, hd);
      for (int p = 0; p < n_pos; ++p) {
        const auto* v = reinterpret_cast<const uint16_t*>(&g.vc[p * g.stride + head]);
        for (int i = 0; i < hd; ++i) expected[i] = R16(expected[i] + quant::Fp16ToFloat(v[i]));
      }
      for (float& x : expected) x *= 1.f / n_pos;
      double rounding_effect = 0;
      for (const Path& path : Paths()) {
        const std::vector<float> out = AttendGroup(TensorType::kF16, g, 0.1f, path.features);
        for (int t = 0; t < 2; ++t) {
          for (int h = 0; h < 6; ++h) {
            for (int i = 0; i < hd; ++i) {
              ASSERT_EQ(out[t * g.q_stride + h * hd + i], expected[i])
                  << path.name << " hd " << hd << " n_pos " << n_pos << " token " << t << " head " << h << " dim " << i;
            }
          }
        }
      }
      // The check has teeth: the exact mean differs from the fp16-accumulated one.
      for (int i = 0; i < hd && n_pos >= 300; ++i) {
        double mean = 0;
        for (int p = 0; p < n_pos; ++p) {
          mean += quant::Fp16ToFloat(reinterpret_cast<const uint16_t*>(&g.vc[p * g.stride + head])[i]);
        }
        rounding_effect = std::max(rounding_effect, std::fabs(mean / n_pos - expected[i]));
      }
      if (n_pos >= 300) {
        EXPECT_GT(rounding_effect, 1e-4) << "hd " << hd << " n_pos " << n_pos;
      }
    }
  }
}

// Logits of a two-sequence run: a 21-token prefill of one sequence and a 6-token prefill of the
// other in one batch (runs of several tokens per work item), then 4 decode steps of both.
std::vector<float> TwoSequenceLogits(const std::filesystem::path& model, int n_threads) {
  auto e = engine::Engine::Load(model, {.n_threads = n_threads, .n_ctx = 64, .max_sequences = 2});
  EXPECT_TRUE(e.ok()) << e.status().Describe();
  if (!e.ok()) return {};
  engine::Engine& engine = **e;
  auto a = engine.CreateSequence(), b = engine.CreateSequence();
  EXPECT_TRUE(a.ok() && b.ok());
  std::vector<engine::BatchItem> batch;
  for (int i = 0; i < 21; ++i) batch.push_back({*a, 1 + (i * 37) % 300, i == 20});
  for (int i = 0; i < 6; ++i) batch.push_back({*b, 1 + (i * 53) % 300, i == 5});
  std::vector<float> logits;
  for (int step = 0; step < 5; ++step) {
    EXPECT_TRUE(engine.Decode(batch).ok());
    for (int i = 0; i < 2; ++i) logits.insert(logits.end(), engine.Logits(i).begin(), engine.Logits(i).end());
    const int next_a = static_cast<int>(std::max_element(engine.Logits(0).begin(), engine.Logits(0).end()) -
                                        engine.Logits(0).begin());
    const int next_b = static_cast<int>(std::max_element(engine.Logits(1).begin(), engine.Logits(1).end()) -
                                        engine.Logits(1).begin());
    batch = {{*a, next_a, true}, {*b, next_b, true}};
  }
  return logits;
}

TEST(KvAttention, WorkSplitDoesNotChangeLogits) {
  // stories260K: 8 heads of 8 dimensions over 4 KV heads; the llama.cpp oracle's qwen2: 8 heads of
  // 32 over 4. 16 threads split each KV head's query heads between items in the decode steps.
  std::vector<std::filesystem::path> models = {dv::testing::FixturePath("models/stories260K.gguf")};
  const auto qwen2 = dv::testing::SharedPath("fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.gguf");
  if (!qwen2.empty()) models.push_back(qwen2);
  for (const auto& model : models) {
    const std::vector<float> one = TwoSequenceLogits(model, 1);
    ASSERT_FALSE(one.empty());
    for (int n_threads : {2, 3, 16}) {
      EXPECT_EQ(TwoSequenceLogits(model, n_threads), one) << model.filename() << " " << n_threads << " threads";
    }
  }
}

}  // namespace
}  // namespace dv::cpu
