// Process-wide logging on spdlog: human-readable text or JSON lines, a level, an optional file.
//
// Use spdlog's functions (spdlog::info(...)) after Init(). Every line carries the request id of
// the calling thread's innermost ScopedRequestId, if any.
//
// Thread safety: Init() is meant to be called once at start-up, before other threads log.
// Logging itself is thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "deepvault/status.h"

namespace dv::logging {

enum class Format { kText, kJson };

struct Options {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  Format format = Format::kText;
  std::string file;  // empty: standard error
};

// Parses "text" / "json".
Result<Format> ParseFormat(std::string_view name);

// Installs the default logger. Returns InvalidArgument for an unknown level, or
// Unavailable when the log file cannot be opened.
[[nodiscard]] Status Init(const Options& options);

// Formats one record as a JSON object (no trailing newline); exposed for tests.
std::string FormatJsonLine(std::string_view timestamp, std::string_view level,
                           std::string_view message, std::string_view request_id);

// Tags every log line written on this thread, while alive, with `request_id`. Nests.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

// The calling thread's current request id ("" when none).
const std::string& CurrentRequestId();

}  // namespace dv::logging
