#include "engine/chat/gguf_template.h"

#include <string>

namespace dv::chat {

Result<ChatTemplate> ChatTemplateFromGguf(const gguf::GgufFile& file, std::string_view template_name,
                                          const RenderLimits& limits) {
  std::string key = "tokenizer.chat_template";
  if (template_name != "default") key += "." + std::string(template_name);
  if (!file.Has(key)) return NotFound(file.path() + " has no chat template (" + key + ")");
  DV_ASSIGN_OR_RETURN(std::string_view source, file.GetString(key));
  DV_ASSIGN_OR_RETURN(ChatTemplate compiled, ChatTemplate::Compile(source, limits));

  nlohmann::ordered_json specials = nlohmann::ordered_json::object();
  static constexpr std::pair<const char*, const char*> kTokenKeys[] = {
      {"bos_token", "tokenizer.ggml.bos_token_id"},     {"eos_token", "tokenizer.ggml.eos_token_id"},
      {"unk_token", "tokenizer.ggml.unknown_token_id"}, {"sep_token", "tokenizer.ggml.seperator_token_id"},
      {"pad_token", "tokenizer.ggml.padding_token_id"}, {"cls_token", "tokenizer.ggml.cls_token_id"},
      {"mask_token", "tokenizer.ggml.mask_token_id"},
  };
  std::vector<std::string_view> tokens;
  if (file.Has("tokenizer.ggml.tokens")) {
    DV_ASSIGN_OR_RETURN(tokens, file.GetStringArray("tokenizer.ggml.tokens"));
  }
  for (const auto& [name, id_key] : kTokenKeys) {
    if (!file.Has(id_key)) continue;
    DV_ASSIGN_OR_RETURN(uint64_t id, file.GetUnsigned(id_key));
    if (id >= tokens.size()) {
      return InvalidArgument(file.path() + ": " + id_key + " = " + std::to_string(id) +
                             " is outside the vocabulary of " + std::to_string(tokens.size()) + " tokens");
    }
    specials[name] = std::string(tokens[id]);
  }
  DV_RETURN_IF_ERROR(compiled.SetSpecialTokens(std::move(specials)));
  return compiled;
}

}  // namespace dv::chat
