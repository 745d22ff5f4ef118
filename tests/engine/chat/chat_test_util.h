// Helpers shared by the chat-template tests.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/chat/chat_template.h"
#include "test_util.h"

namespace dv::chat::testing {

using Json = nlohmann::ordered_json;

// Compiles `source` and renders it with `vars` as template kwargs and no messages.
inline Result<std::string> RenderWith(const std::string& source, const Json& vars = Json::object(),
                                      const RenderLimits& limits = {}) {
  DV_ASSIGN_OR_RETURN(ChatTemplate t, ChatTemplate::Compile(source, limits));
  ChatTemplateInput input;
  Json kwargs = Json::object();
  for (const auto& [k, v] : vars.items()) {
    if (k == "messages") {
      input.messages = v;
    } else if (k == "tools") {
      input.tools = v;
    } else if (k == "add_generation_prompt") {
      input.add_generation_prompt = v.get<bool>();
    } else {
      kwargs[k] = v;
    }
  }
  input.kwargs = std::move(kwargs);
  return t.Render(input);
}

// The tokenizer_config.json fixture for `name` (tests/fixtures/chat/<name>.tokenizer_config.json).
inline std::string TokenizerConfigText(const std::string& name) {
  return dv::testing::ReadFile(dv::testing::FixturePath("chat/" + name + ".tokenizer_config.json"));
}

}  // namespace dv::chat::testing
