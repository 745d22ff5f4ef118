// Status and Result<T>: how every deepvault module reports failure across a module boundary.
//
// A Status is either OK or carries a code, a human-readable message, and a stack of context
// strings added on the way up ("while loading model.gguf"). Codes map 1:1 to HTTP statuses so the
// server can answer with the right one without re-classifying errors.
//
// Both types are [[nodiscard]]: ignoring a Status is a compile error under -Werror. Call
// IgnoreError() where dropping it is deliberate.
//
// Thread safety: Status and Result are values; distinct objects may be used from different threads.
#pragma once

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace dv {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // 400: the caller's input is malformed or out of range.
  kUnauthenticated,     // 401: no or invalid credentials.
  kPermissionDenied,    // 403: credentials valid, action not allowed.
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kFailedPrecondition,  // 409: the system is not in a state that allows the action.
  kPayloadTooLarge,     // 413
  kResourceExhausted,   // 429: quota, rate limit, queue full, memory budget.
  kCancelled,           // 499: the caller went away.
  kInternal,            // 500: a bug or an invariant broken.
  kDataLoss,            // 500: stored data is corrupt.
  kUnimplemented,       // 501
  kUnavailable,         // 503: try again later.
  kDeadlineExceeded,    // 504
};

// Returns the HTTP status code for `code` (200 for kOk).
int HttpStatusFor(StatusCode code);
// Returns the lower_snake_case name of `code`, e.g. "invalid_argument".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status. Cheap: holds no allocation.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message given at construction, without context. Empty for OK.
  const std::string& message() const;
  // Context frames, innermost first.
  const std::vector<std::string>& context() const;
  int http_status() const { return HttpStatusFor(code()); }

  // Adds a context frame (e.g. "reading config /etc/deepvault.toml"). No-op on OK.
  Status& AddContext(std::string frame) &;
  Status&& AddContext(std::string frame) &&;

  // "invalid_argument: bad port 70000 (while: loading config x.toml)". "ok" for OK.
  std::string ToString() const;
  // The message followed by context frames, outermost first: "loading x.toml: key server.port: ...".
  std::string Describe() const;

  // Explicitly discards this status.
  void IgnoreError() const {}

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::vector<std::string> context;
  };
  std::unique_ptr<Rep> rep_;
};

// Convenience constructors.
Status InvalidArgument(std::string message);
Status Unauthenticated(std::string message);
Status PermissionDenied(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status PayloadTooLarge(std::string message);
Status ResourceExhausted(std::string message);
Status Cancelled(std::string message);
Status Internal(std::string message);
Status DataLoss(std::string message);
Status Unimplemented(std::string message);
Status Unavailable(std::string message);
Status DeadlineExceeded(std::string message);

// Result<T> holds either a T or a non-OK Status.
// REQUIRES: a Result is never constructed from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> is not meaningful");

  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK Status");
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK status");
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK status when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Takes the error out. REQUIRES: !ok().
  Status&& error() && { return std::get<Status>(std::move(v_)); }

  Result& AddContext(std::string frame) & {
    if (!ok()) std::get<Status>(v_).AddContext(std::move(frame));
    return *this;
  }
  Result&& AddContext(std::string frame) && {
    if (!ok()) std::get<Status>(v_).AddContext(std::move(frame));
    return std::move(*this);
  }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(Status s) { return s; }
template <typename T>
Status AsStatus(Result<T>&& r) { return r.ok() ? Status() : std::move(r).error(); }
}  // namespace internal

}  // namespace dv

#define DV_CONCAT_INNER_(a, b) a##b
#define DV_CONCAT_(a, b) DV_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Status or Result); returns its Status from the enclosing function if not OK.
#define DV_RETURN_IF_ERROR(expr)                                         \
  do {                                                                   \
    ::dv::Status dv_status_ = ::dv::internal::AsStatus((expr));          \
    if (!dv_status_.ok()) return dv_status_;                             \
  } while (false)

// DV_ASSIGN_OR_RETURN(auto x, MakeX()); declares/assigns the value or returns the error.
#define DV_ASSIGN_OR_RETURN(lhs, expr) \
  DV_ASSIGN_OR_RETURN_IMPL_(DV_CONCAT_(dv_result_, __LINE__), lhs, expr)
#define DV_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).error();   \
  lhs = std::move(tmp).value()
