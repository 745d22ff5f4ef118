// Chat templates: turn a conversation into the exact prompt text a model was trained on.
//
// A model ships its prompt format as a Jinja2 program (`chat_template` in tokenizer_config.json,
// `tokenizer.chat_template` in GGUF). ChatTemplate compiles it with deepvault's own sandboxed Jinja
// interpreter and renders it the way HF transformers' `apply_chat_template` does: Jinja settings
// trim_blocks + lstrip_blocks, globals `raise_exception` and `strftime_now`, HF's `tojson`
// (ensure_ascii=False), and the variables `messages`, `tools` (None when absent), `documents`
// (None), `add_generation_prompt`, the special tokens (bos_token, eos_token, ...), then any extra
// keyword arguments (e.g. `enable_thinking` for Qwen3).
//
// Sandbox: templates cannot touch files, the network or the environment, and every render is
// bounded (RenderLimits): runaway loops, recursion or output fail with ResourceExhausted.
//
// Errors: a malformed template → InvalidArgument from Compile; a template that fails on the given
// conversation (type errors, undefined values) → InvalidArgument from Render; a template calling
// raise_exception('...') → InvalidArgument whose message is exactly the template's message.
//
// Thread safety: a compiled ChatTemplate is immutable; Render is const and may run concurrently
// from any number of threads. Copies share the compiled program.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/chat/interpreter.h"

namespace dv::chat {

// One conversation message. `content` may be text, absent (null: e.g. an assistant turn that
// only calls tools), or a list of parts ([{"type": "text", "text": "..."}, ...]).
struct ChatMessage {
  std::string role;
  nlohmann::ordered_json content;            // string, array of parts, or null
  std::optional<std::string> reasoning_content;
  std::optional<std::string> name;
  std::optional<std::string> tool_call_id;
  nlohmann::ordered_json tool_calls;         // array of {"type","function":{"name","arguments"}} or null

  // The dict the template sees: role and content always; the others only when set.
  nlohmann::ordered_json ToJson() const;
};

// Everything a render takes besides the template.
struct ChatTemplateInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // array of message objects
  nlohmann::ordered_json tools;                                        // array, or null (tools=None)
  bool add_generation_prompt = false;
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();    // extra template variables
};

class ChatTemplate {
 public:
  // Compiles `source`. InvalidArgument (with the line) for syntax errors or unknown filters/tests.
  static Result<ChatTemplate> Compile(std::string_view source, const RenderLimits& limits = {});

  // Reads a tokenizer_config.json document: its chat_template (a string, or a list of
  // {"name","template"} from which `template_name` is chosen) and its special tokens.
  static Result<ChatTemplate> FromTokenizerConfig(std::string_view json_text,
                                                  std::string_view template_name = "default",
                                                  const RenderLimits& limits = {});

  // Special tokens passed to every render: an object of name → string (or list of strings for
  // additional_special_tokens), e.g. {"bos_token": "<｜begin▁of▁sentence｜>"}.
  // REQUIRES: only string or array-of-string values (validated: InvalidArgument otherwise).
  Status SetSpecialTokens(nlohmann::ordered_json tokens);
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

  // Renders the prompt. Thread-safe.
  Result<std::string> Render(const ChatTemplateInput& input) const;
  Result<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  const std::string& source() const;

 private:
  struct Program;
  explicit ChatTemplate(std::shared_ptr<const Program> program) : program_(std::move(program)) {}

  std::shared_ptr<const Program> program_;
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
};

// The special tokens of a tokenizer_config.json object, as HF's special_tokens_map gives them to
// templates: bos/eos/unk/sep/pad/cls/mask_token as strings (AddedToken objects reduced to their
// "content"), additional_special_tokens as a list. Absent or null entries are left out.
Result<nlohmann::ordered_json> SpecialTokensFromConfig(const nlohmann::ordered_json& config);

}  // namespace dv::chat
