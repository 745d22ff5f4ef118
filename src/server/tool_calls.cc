#include "server/tool_calls.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <utility>

namespace dv::server {
namespace {

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kSep = "<｜tool▁sep｜>";
constexpr std::string_view kMarkers[] = {kHermesOpen, kCallsBegin, kCallBegin};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Text up to `end` (or all of it when absent); advances `s` past `end`.
std::string_view Until(std::string_view& s, std::string_view end) {
  const size_t at = s.find(end);
  std::string_view part = s.substr(0, at);
  s.remove_prefix(at == std::string_view::npos ? s.size() : at + end.size());
  return part;
}

Result<std::string> ArgumentsText(const nlohmann::json& args, std::string_view name) {
  nlohmann::json value = args;
  if (args.is_string()) value = nlohmann::json::parse(args.get<std::string>(), nullptr, false);
  if (!value.is_object()) {
    return InvalidArgument("the arguments of tool call \"" + std::string(name) + "\" are not a JSON object");
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ToolCall> ParseHermes(std::string_view body) {
  auto j = nlohmann::json::parse(Trim(body), nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return InvalidArgument("a <tool_call> does not hold a JSON object with a \"name\"");
  }
  ToolCall call;
  call.name = j["name"].get<std::string>();
  const nlohmann::json* args = j.contains("arguments") ? &j["arguments"] : j.contains("parameters") ? &j["parameters"] : nullptr;
  if (args == nullptr) return InvalidArgument("tool call \"" + call.name + "\" has no arguments");
  DV_ASSIGN_OR_RETURN(call.arguments, ArgumentsText(*args, call.name));
  return call;
}

Result<ToolCall> ParseDeepSeek(std::string_view body) {
  if (body.find(kSep) == std::string_view::npos) return InvalidArgument("a DeepSeek tool call has no <｜tool▁sep｜>");
  std::string_view rest = body;
  std::string_view head = Until(rest, kSep);
  ToolCall call;
  std::string_view args = rest;
  if (Trim(head) == "function") {  // V3/R1: function<sep>NAME\n```json\nARGS\n```
    const size_t nl = rest.find('\n');
    call.name = std::string(Trim(rest.substr(0, nl)));
    args = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    args = Trim(args);
    if (args.starts_with("```json")) args.remove_prefix(7);
    else if (args.starts_with("```")) args.remove_prefix(3);
    if (args.ends_with("```")) args.remove_suffix(3);
  } else {  // NAME<sep>ARGS
    call.name = std::string(Trim(head));
  }
  if (call.name.empty()) return InvalidArgument("a DeepSeek tool call has no function name");
  auto j = nlohmann::json::parse(Trim(args), nullptr, false);
  if (j.is_discarded()) return InvalidArgument("the arguments of tool call \"" + call.name + "\" are not JSON");
  DV_ASSIGN_OR_RETURN(call.arguments, ArgumentsText(j, call.name));
  return call;
}

}  // namespace

ToolFormat DetectToolFormat(std::string_view template_source) {
  return template_source.find("tool▁calls▁begin") != std::string_view::npos ? ToolFormat::kDeepSeek
                                                                           : ToolFormat::kHermes;
}

ToolCallWrapper WrapperFor(ToolFormat format, std::string_view name) {
  if (format == ToolFormat::kDeepSeek) {
    return {std::string(kCallsBegin) + std::string(kCallBegin) + "function" + std::string(kSep) + std::string(name) +
                "\n```json\n",
            "\n```" + std::string(kCallEnd) + std::string(kCallsEnd)};
  }
  return {std::string(kHermesOpen) + "\n", "\n" + std::string(kHermesClose)};
}

Result<std::vector<ToolCall>> ParseToolCalls(std::string_view s) {
  std::vector<ToolCall> calls;
  while (true) {
    s = Trim(s);
    if (s.empty()) break;
    if (s.starts_with(kHermesOpen)) {
      s.remove_prefix(kHermesOpen.size());
      DV_ASSIGN_OR_RETURN(ToolCall call, ParseHermes(Until(s, kHermesClose)));
      calls.push_back(std::move(call));
    } else if (s.starts_with(kCallsBegin)) {
      s.remove_prefix(kCallsBegin.size());
    } else if (s.starts_with(kCallsEnd)) {
      s.remove_prefix(kCallsEnd.size());
    } else if (s.starts_with(kCallBegin)) {
      s.remove_prefix(kCallBegin.size());
      DV_ASSIGN_OR_RETURN(ToolCall call, ParseDeepSeek(Until(s, kCallEnd)));
      calls.push_back(std::move(call));
    } else {
      return InvalidArgument("unexpected text after the tool calls: \"" + std::string(s.substr(0, 40)) + "\"");
    }
  }
  if (calls.empty()) return InvalidArgument("no tool call found");
  return calls;
}

std::string ToolCallStream::Feed(std::string_view content) {
  if (in_calls_) {
    section_ += content;
    return "";
  }
  std::string text = hold_ + std::string(content);
  hold_.clear();
  size_t first = std::string::npos;
  for (std::string_view m : kMarkers) first = std::min(first, text.find(m));
  if (first != std::string::npos) {
    in_calls_ = true;
    section_ = text.substr(first);
    text.resize(first);
    return text;
  }
  size_t hold = 0;
  for (std::string_view m : kMarkers) {
    for (size_t n = std::min(text.size(), m.size() - 1); n > hold; --n) {
      if (std::string_view(text).substr(text.size() - n) == m.substr(0, n)) {
        hold = n;
        break;
      }
    }
  }
  hold_ = text.substr(text.size() - hold);
  text.resize(text.size() - hold);
  return text;
}

std::string ToolCallStream::Finish(std::vector<ToolCall>* calls) {
  calls->clear();
  if (!in_calls_) return std::exchange(hold_, "");
  auto parsed = ParseToolCalls(section_);
  if (!parsed.ok()) return std::exchange(section_, "");
  *calls = std::move(parsed).value();
  section_.clear();
  return "";
}

}  // namespace dv::server
