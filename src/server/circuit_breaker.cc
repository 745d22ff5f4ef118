#include "server/circuit_breaker.h"

#include <algorithm>

namespace dv::server {

const char* CircuitStateName(CircuitState s) {
  switch (s) {
    case CircuitState::kClosed: return "closed";
    case CircuitState::kOpen: return "open";
    case CircuitState::kHalfOpen: return "half_open";
  }
  return "closed";
}

void CircuitBreaker::Prune(Clock::time_point now) {
  while (!window_.empty() && now - window_.front().first > options_.window) {
    failures_ -= window_.front().second ? 1 : 0;
    window_.pop_front();
  }
}

void CircuitBreaker::Open(Clock::time_point now) {
  state_ = CircuitState::kOpen;
  opened_at_ = now;
  probe_in_flight_ = false;
  window_.clear();
  failures_ = 0;
}

CircuitBreaker::Admission CircuitBreaker::Admit(Clock::time_point now) {
  if (state_ == CircuitState::kClosed) return Admission::kYes;
  if (state_ == CircuitState::kOpen) {
    if (now - opened_at_ < options_.cooldown) return Admission::kNo;
    state_ = CircuitState::kHalfOpen;
  }
  if (probe_in_flight_) return Admission::kNo;
  probe_in_flight_ = true;
  return Admission::kProbe;
}

bool CircuitBreaker::Record(Outcome outcome, bool probe, Clock::time_point now) {
  if (probe) {
    if (state_ != CircuitState::kHalfOpen) return false;
    probe_in_flight_ = false;
    if (outcome == Outcome::kSuccess) {
      state_ = CircuitState::kClosed;
      window_.clear();
      failures_ = 0;
      return true;
    }
    if (outcome == Outcome::kFailure) {
      Open(now);
      return true;
    }
    return false;
  }
  // Late outcomes of requests admitted before the circuit opened do not count again.
  if (state_ != CircuitState::kClosed || outcome == Outcome::kNeutral) return false;
  const bool failed = outcome == Outcome::kFailure;
  window_.emplace_back(now, failed);
  failures_ += failed ? 1 : 0;
  Prune(now);
  const int total = static_cast<int>(window_.size());
  if (failed && total >= options_.min_requests &&
      static_cast<double>(failures_) >= options_.error_rate * static_cast<double>(total)) {
    Open(now);
    return true;
  }
  return false;
}

double CircuitBreaker::RetryAfterSeconds(Clock::time_point now) const {
  if (state_ != CircuitState::kOpen) return 0;
  return std::max(0.0, std::chrono::duration<double>(options_.cooldown - (now - opened_at_)).count());
}

}  // namespace dv::server
