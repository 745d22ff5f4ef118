// Circuit breaker of one served model.
//
//   closed ──(error rate over `window` ≥ error_rate, with ≥ min_requests outcomes)──▶ open
//   open ──(cooldown elapsed; the next request is admitted as the one probe)──▶ half-open
//   half-open ──(probe succeeds)──▶ closed          half-open ──(probe fails)──▶ open (cooldown again)
//
// While open (and while a probe is in flight) Admit() answers kNo: the caller sends the request to
// the fallback model or fails fast. Outcomes are successes, failures or neutral (client errors,
// cancellations: they say nothing about the model); a neutral probe just frees the probe slot.
//
// Thread safety: none; the owner (ModelRouter) serialises calls.
#pragma once

#include <chrono>
#include <deque>

namespace dv::server {

struct BreakerOptions {
  std::chrono::milliseconds window{60'000};
  double error_rate = 0.5;  // (0, 1]
  int min_requests = 5;     // outcomes in the window before the rate counts
  std::chrono::milliseconds cooldown{30'000};
};

enum class CircuitState { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
const char* CircuitStateName(CircuitState s);

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Admission { kYes, kProbe, kNo };
  enum class Outcome { kSuccess, kFailure, kNeutral };

  explicit CircuitBreaker(BreakerOptions options) : options_(options) {}

  // Whether a request may go to the model now. kProbe: it is the half-open probe; its outcome
  // must be reported with probe = true.
  Admission Admit(Clock::time_point now);
  // The outcome of an admitted request. Returns true when the state changed.
  bool Record(Outcome outcome, bool probe, Clock::time_point now);

  CircuitState state() const { return state_; }
  // Seconds until an open circuit admits its probe (0 unless open).
  double RetryAfterSeconds(Clock::time_point now) const;
  // Outcomes in the current window (closed state only).
  int window_total() const { return static_cast<int>(window_.size()); }
  int window_failures() const { return failures_; }

 private:
  void Prune(Clock::time_point now);
  void Open(Clock::time_point now);

  BreakerOptions options_;
  CircuitState state_ = CircuitState::kClosed;
  std::deque<std::pair<Clock::time_point, bool>> window_;  // (when, failed), oldest first
  int failures_ = 0;                                       // failed entries in window_
  Clock::time_point opened_at_{};
  bool probe_in_flight_ = false;
};

}  // namespace dv::server
