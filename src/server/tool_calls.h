// Tool calls in model output, in the formats the supported model families are trained to emit:
//
//   Qwen2.5 / Qwen3 (Hermes style):
//     <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>
//   DeepSeek-V3 / R1:
//     <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```
//     <｜tool▁call▁end｜><｜tool▁calls▁end｜>
//   DeepSeek-V3.1 style (no type, raw arguments):
//     <｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜>
//
// ToolCallStream splits a streamed answer into content (emitted as it comes, holding back any
// text that could begin a tool-call marker) and the tool-call section (everything from the first
// marker on), parsed when generation ends.
//
// Thread safety: values; one ToolCallStream per choice.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"

namespace dv::server {

enum class ToolFormat { kHermes, kDeepSeek };

// The format a chat template renders tool calls in (Hermes unless it uses DeepSeek's markers).
ToolFormat DetectToolFormat(std::string_view template_source);

// The literal text a constrained single call is wrapped in: before and after the JSON value.
// Hermes: the JSON is {"name","arguments"}; DeepSeek: the JSON is the arguments of `name`.
struct ToolCallWrapper {
  std::string prefix, suffix;
};
ToolCallWrapper WrapperFor(ToolFormat format, std::string_view name);

struct ToolCall {
  std::string name;
  std::string arguments;  // compact JSON text of an object
};

// Parses a tool-call section (starting at its first marker). InvalidArgument when it is not a
// well-formed sequence of calls with JSON-object arguments.
Result<std::vector<ToolCall>> ParseToolCalls(std::string_view section);

class ToolCallStream {
 public:
  // Returns the content that is final now.
  std::string Feed(std::string_view content);
  // Ends the stream: the held-back content, and the parsed calls (empty when there were none, or
  // when the section did not parse: its text is returned as content then).
  std::string Finish(std::vector<ToolCall>* calls);

  bool in_calls() const { return in_calls_; }

 private:
  std::string hold_;     // possible start of a marker
  std::string section_;  // from the first marker on
  bool in_calls_ = false;
};

}  // namespace dv::server
