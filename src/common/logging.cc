#include "common/logging.h"

#include <spdlog/details/fmt_helper.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace dv::logging {
namespace {

thread_local std::string tls_request_id;

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
}

std::string Iso8601(std::chrono::system_clock::time_point tp) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp - secs).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// One JSON object per line: {"ts":…,"level":…,"msg":…,"request_id":…}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    std::string line = FormatJsonLine(Iso8601(msg.time), std::string_view(level.data(), level.size()),
                                      std::string_view(msg.payload.data(), msg.payload.size()),
                                      tls_request_id);
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// Pattern flag %Q: " [req=<id>]" when a request id is set, nothing otherwise.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (tls_request_id.empty()) return;
    const std::string s = " [req=" + tls_request_id + "]";
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<RequestIdFlag>(); }
};

}  // namespace

Result<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return InvalidArgument("unknown log format \"" + std::string(name) + "\"; allowed: text, json");
}

std::string FormatJsonLine(std::string_view timestamp, std::string_view level, std::string_view message,
                           std::string_view request_id) {
  std::string out = "{\"ts\":\"";
  AppendJsonEscaped(out, timestamp);
  out += "\",\"level\":\"";
  AppendJsonEscaped(out, level);
  out += "\",\"msg\":\"";
  AppendJsonEscaped(out, message);
  out += "\"";
  if (!request_id.empty()) {
    out += ",\"request_id\":\"";
    AppendJsonEscaped(out, request_id);
    out += "\"";
  }
  out += "}";
  return out;
}

Status Init(const Options& options) {
  const auto level = spdlog::level::from_str(options.level);
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (level == spdlog::level::off && options.level != "off") {
    return InvalidArgument("unknown log level \"" + options.level +
                           "\"; allowed: trace, debug, info, warn, error, critical, off");
  }
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (options.file.empty()) {
      logger = std::make_shared<spdlog::logger>("deepvault", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "deepvault", std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Unavailable("cannot open log file \"" + options.file + "\": " + e.what());
  }
  if (options.format == Format::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<RequestIdFlag>('Q').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$%Q %v");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

ScopedRequestId::ScopedRequestId(std::string request_id) : previous_(std::move(tls_request_id)) {
  tls_request_id = std::move(request_id);
}

ScopedRequestId::~ScopedRequestId() { tls_request_id = std::move(previous_); }

const std::string& CurrentRequestId() { return tls_request_id; }

}  // namespace dv::logging
