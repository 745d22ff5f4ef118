#include "server/router.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <random>
#include <set>

namespace dv::server {

double StickyUnit(std::string_view salt, std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV prime
  };
  for (char c : salt) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : key) mix(static_cast<unsigned char>(c));
  // SplitMix64 finaliser: FNV's low bits are weak for short keys.
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

ModelRouter::ModelRouter(BreakerOptions breaker, Metrics* metrics) : breaker_options_(breaker), metrics_(metrics) {
  if (!metrics_) return;
  metrics_->Describe("deepvault_routed_requests_total", "counter",
                     "Generation requests by requested name, served model and reason (direct, weighted, fallback).");
  metrics_->Describe("deepvault_circuit_state", "gauge", "Circuit breaker state: 0 closed, 1 open, 2 half-open.");
  metrics_->Describe("deepvault_circuit_transitions_total", "counter", "Circuit breaker state changes.");
}

void ModelRouter::AddAlias(const std::string& alias, std::vector<RouteVersion> versions) {
  aliases_[alias] = std::move(versions);
}

void ModelRouter::SetFallback(const std::string& model, const std::string& fallback) { fallbacks_[model] = fallback; }

void ModelRouter::SetSamplingDefaults(const std::string& model, SamplingDefaults defaults) {
  defaults_[model] = defaults;
}

bool ModelRouter::IsAlias(const std::string& name) const { return aliases_.count(name) > 0; }

std::vector<std::string> ModelRouter::ReferencedNames() const {
  std::set<std::string> names;
  for (const auto& [alias, versions] : aliases_) {
    for (const auto& v : versions) names.insert(v.model);
  }
  for (const auto& [model, fallback] : fallbacks_) names.insert(fallback);
  return {names.begin(), names.end()};
}

const std::string& ModelRouter::PickVersion(const std::string& alias, std::string_view user_key) const {
  const auto& versions = aliases_.at(alias);
  double total = 0;
  for (const auto& v : versions) total += v.weight;
  double u;
  if (user_key.empty()) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  } else {
    u = StickyUnit(alias, user_key);
  }
  double cumulative = 0;
  for (const auto& v : versions) {
    cumulative += v.weight / total;
    if (v.weight > 0 && u < cumulative) return v.model;
  }
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->weight > 0) return it->model;  // rounding left u just past the last boundary
  }
  return versions.back().model;
}

CircuitBreaker& ModelRouter::BreakerLocked(const std::string& model) {
  auto& slot = breakers_[model];
  if (!slot) {
    slot = std::make_unique<Breaker>(breaker_options_);
    if (metrics_) {
      const std::atomic<int>* state = &slot->state;  // lives as long as the router
      metrics_->Gauge("deepvault_circuit_state", {{"model", model}}, [state] { return static_cast<double>(state->load()); });
    }
  }
  return slot->breaker;
}

void ModelRouter::CountTransition(const std::string& model, CircuitState to) {
  breakers_.at(model)->state = static_cast<int>(to);
  spdlog::warn("circuit of model {} is now {}", model, CircuitStateName(to));
  if (metrics_) metrics_->Add("deepvault_circuit_transitions_total", {{"model", model}, {"state", CircuitStateName(to)}});
}

Result<RouteDecision> ModelRouter::Route(const std::string& requested, std::string_view user_key) {
  RouteDecision d;
  d.requested = requested;
  std::string name = requested;
  std::set<std::string> visited;
  std::string refused;  // the models whose circuits refused, for the error
  double retry_after = 0;
  const auto now = CircuitBreaker::Clock::now();
  for (int hop = 0; hop <= kMaxFallbackHops; ++hop) {
    const bool weighted = IsAlias(name);
    const std::string model = weighted ? PickVersion(name, user_key) : name;
    if (!visited.insert(model).second) break;
    CircuitBreaker::Admission admission;
    CircuitState state_after;
    {
      std::lock_guard lock(mu_);
      CircuitBreaker& b = BreakerLocked(model);
      const CircuitState before = b.state();
      admission = b.Admit(now);
      state_after = b.state();
      if (admission == CircuitBreaker::Admission::kNo) retry_after = std::max(retry_after, b.RetryAfterSeconds(now));
      if (before != state_after) CountTransition(model, state_after);
    }
    if (admission != CircuitBreaker::Admission::kNo) {
      d.model = model;
      d.probe = admission == CircuitBreaker::Admission::kProbe;
      if (hop > 0) d.fallback_from = refused.substr(0, refused.find(','));
      const char* reason = hop > 0 ? "fallback" : weighted ? "weighted" : "direct";
      if (metrics_) {
        metrics_->Add("deepvault_routed_requests_total", {{"requested", requested}, {"model", model}, {"reason", reason}});
      }
      return d;
    }
    refused += (refused.empty() ? "" : ", ") + model;
    auto fb = fallbacks_.find(model);
    if (fb == fallbacks_.end()) break;
    name = fb->second;
  }
  const long retry_s = std::max(1L, static_cast<long>(std::ceil(retry_after)));
  return Unavailable("model \"" + requested + "\" is failing (circuit open: " + refused +
                     ") and no fallback can answer; retry in " + std::to_string(retry_s) + " s");
}

void ModelRouter::Record(const RouteDecision& decision, CircuitBreaker::Outcome outcome) {
  const auto now = CircuitBreaker::Clock::now();
  std::lock_guard lock(mu_);
  CircuitBreaker& b = BreakerLocked(decision.model);
  if (b.Record(outcome, decision.probe, now)) CountTransition(decision.model, b.state());
}

CircuitState ModelRouter::State(const std::string& model) {
  std::lock_guard lock(mu_);
  return BreakerLocked(model).state();
}

std::optional<SamplingDefaults> ModelRouter::Defaults(const std::string& model) const {
  auto it = defaults_.find(model);
  if (it == defaults_.end()) return std::nullopt;
  return it->second;
}

}  // namespace dv::server
