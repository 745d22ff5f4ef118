// Which served model answers a request: weighted versions (canary), circuit breakers and
// fallbacks, and per-model default sampling.
//
// An alias with versions (config `[[models]]` with `versions`) maps to served models
// "<alias>:<version>". The version is chosen by hashing (alias, user key) into [0, 1) and
// walking the cumulative weights, so one user always gets the same version while the weights stay
// the same, and distinct users split by the weights. Requests without a user key are spread at
// random. Any other name routes to itself.
//
// Every served model has a CircuitBreaker (created on first use). When the chosen model's circuit
// does not admit the request, the model's fallback (if configured) is routed instead, recursively,
// at most kMaxFallbackHops deep; without one the request fails with Unavailable (503) telling when
// to retry. Callers report each admitted request's outcome with Record(). A half-open probe that
// fails before answering anything (the model cannot be loaded) is reported as a failure at once,
// which re-opens the circuit, and the server routes the request again: to the fallback.
//
// Metrics: deepvault_routed_requests_total{requested,model,reason} (reason: direct, weighted,
// fallback), deepvault_circuit_state{model} (0 closed, 1 open, 2 half-open),
// deepvault_circuit_transitions_total{model,state}.
//
// Thread safety: configure (Add*/Set*) before serving; Route, Record and the getters may then be
// called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "server/circuit_breaker.h"
#include "server/metrics.h"

namespace dv::server {

struct RouteVersion {
  std::string model;  // served (registry) name, e.g. "deepseek-r1:v1.1"
  double weight = 0;  // >= 0; relative to the other versions
};

// Default sampling of a served model, used for fields a request leaves out.
struct SamplingDefaults {
  std::optional<double> temperature, top_p, min_p;
  std::optional<int> top_k;
  bool empty() const { return !temperature && !top_p && !min_p && !top_k; }
};

struct RouteDecision {
  std::string requested;      // the name the client asked for
  std::string model;          // the served model that answers
  std::string fallback_from;  // the model whose open circuit sent the request here; "" if none
  bool probe = false;         // the half-open probe of `model`'s breaker
};

class ModelRouter {
 public:
  static constexpr int kMaxFallbackHops = 4;

  ModelRouter(BreakerOptions breaker, Metrics* metrics);

  // REQUIRES: versions non-empty with a positive total weight.
  void AddAlias(const std::string& alias, std::vector<RouteVersion> versions);
  // `fallback` (a served model or an alias) answers while `model`'s circuit is open.
  void SetFallback(const std::string& model, const std::string& fallback);
  void SetSamplingDefaults(const std::string& model, SamplingDefaults defaults);

  bool IsAlias(const std::string& name) const;
  bool HasFallback(const std::string& model) const { return fallbacks_.count(model) > 0; }
  // Every name a fallback or alias refers to, for validation against the registry.
  std::vector<std::string> ReferencedNames() const;
  // The aliases with versions, for listings.
  std::map<std::string, std::vector<RouteVersion>> aliases() const { return aliases_; }

  // Chooses the served model for `requested`. `user_key` empty: random version.
  // Unavailable when every candidate's circuit is open.
  Result<RouteDecision> Route(const std::string& requested, std::string_view user_key);
  // The outcome of a request routed to decision.model.
  void Record(const RouteDecision& decision, CircuitBreaker::Outcome outcome);

  CircuitState State(const std::string& model);
  std::optional<SamplingDefaults> Defaults(const std::string& model) const;

  // The version of `alias` a user key maps to (no breaker involved). REQUIRES: IsAlias(alias).
  const std::string& PickVersion(const std::string& alias, std::string_view user_key) const;

 private:
  CircuitBreaker& BreakerLocked(const std::string& model);
  void CountTransition(const std::string& model, CircuitState to);

  BreakerOptions breaker_options_;
  Metrics* metrics_;
  std::map<std::string, std::vector<RouteVersion>> aliases_;
  std::map<std::string, std::string> fallbacks_;
  std::map<std::string, SamplingDefaults> defaults_;

  mutable std::mutex mu_;
  struct Breaker {
    explicit Breaker(BreakerOptions o) : breaker(o) {}
    CircuitBreaker breaker;
    std::atomic<int> state{0};  // mirror of breaker.state() for the metrics scrape (no router lock)
  };
  std::map<std::string, std::unique_ptr<Breaker>> breakers_;
};

// A uniform number in [0, 1) from (salt, key): FNV-1a 64 then the SplitMix64 finaliser.
double StickyUnit(std::string_view salt, std::string_view key);

}  // namespace dv::server
