#include "engine/chat/chat_template.h"

#include "common/utf8.h"
#include "engine/chat/builtins.h"
#include "engine/chat/parser.h"

namespace dv::chat {

struct ChatTemplate::Program {
  std::string source;
  Body body;
  RenderLimits limits;
};

namespace {

using Json = nlohmann::ordered_json;

Status ToStatus(const TemplateError& e) {
  switch (e.kind()) {
    case TemplateError::Kind::kLimit: return ResourceExhausted(e.message());
    case TemplateError::Kind::kRaised: return InvalidArgument(e.message());
    default: return InvalidArgument(e.message());
  }
}

// Jinja rejects unknown filters and tests when compiling; so do we.
void CheckNames(const Expr* e, int depth = 0);

void CheckNames(const Body& body);

void CheckNames(const Expr* e, int depth) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kFilter && !HasFilter(e->name)) {
    throw TemplateError("template syntax error at line " + std::to_string(e->line) + ": no filter named '" + e->name + "'");
  }
  if (e->kind == ExprKind::kTest && !HasTest(e->name)) {
    throw TemplateError("template syntax error at line " + std::to_string(e->line) + ": no test named '" + e->name + "'");
  }
  CheckNames(e->a.get(), depth + 1);
  CheckNames(e->b.get(), depth + 1);
  CheckNames(e->c.get(), depth + 1);
  for (const ExprPtr& item : e->items) CheckNames(item.get(), depth + 1);
  for (const auto& kw : e->kwargs) CheckNames(kw.second.get(), depth + 1);
}

void CheckNames(const Body& body) {
  for (const StmtPtr& s : body) {
    CheckNames(s->expr.get());
    CheckNames(s->filter.get());
    for (const ExprPtr& c : s->conditions) CheckNames(c.get());
    for (const Body& b : s->bodies) CheckNames(b);
    CheckNames(s->body);
    CheckNames(s->else_body);
    for (const MacroParam& p : s->params) CheckNames(p.default_value.get());
    for (const ExprPtr& f : s->filters) CheckNames(f.get());
    for (const auto& a : s->assignments) CheckNames(a.second.get());
  }
}

// Validates what enters from outside: JSON depth and UTF-8 of every string.
Status ValidateJson(const Json& j, const std::string& where, int depth = 0) {
  if (depth > 64) return InvalidArgument(where + ": nested more than 64 levels deep");
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (!utf8::IsValid(s)) {
      return InvalidArgument(where + ": string is not valid UTF-8 (byte " + std::to_string(utf8::FirstInvalidOffset(s)) + ")");
    }
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (!utf8::IsValid(k)) return InvalidArgument(where + ": key is not valid UTF-8");
      DV_RETURN_IF_ERROR(ValidateJson(v, where + "." + k, depth + 1));
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) DV_RETURN_IF_ERROR(ValidateJson(j[i], where + "[" + std::to_string(i) + "]", depth + 1));
  } else if (j.is_binary()) {
    return InvalidArgument(where + ": binary values are not allowed");
  }
  return Status::Ok();
}

}  // namespace

Json ChatMessage::ToJson() const {
  Json j = Json::object();
  j["role"] = role;
  j["content"] = content;
  if (reasoning_content) j["reasoning_content"] = *reasoning_content;
  if (name) j["name"] = *name;
  if (tool_call_id) j["tool_call_id"] = *tool_call_id;
  if (!tool_calls.is_null()) j["tool_calls"] = tool_calls;
  return j;
}

Result<ChatTemplate> ChatTemplate::Compile(std::string_view source, const RenderLimits& limits) {
  if (!utf8::IsValid(source)) return InvalidArgument("chat template is not valid UTF-8");
  if (source.size() > (1u << 20)) return InvalidArgument("chat template is larger than 1 MiB");
  auto program = std::make_shared<Program>();
  program->source = std::string(source);
  program->limits = limits;
  try {
    program->body = ParseTemplate(program->source, limits.max_parse_depth);
    CheckNames(program->body);
  } catch (const TemplateError& e) {
    return ToStatus(e);
  }
  return ChatTemplate(std::move(program));
}

Result<Json> SpecialTokensFromConfig(const Json& config) {
  if (!config.is_object()) return InvalidArgument("tokenizer config must be a JSON object");
  Json tokens = Json::object();
  auto token_text = [](const Json& v, const std::string& key) -> Result<std::optional<std::string>> {
    if (v.is_null()) return std::optional<std::string>();
    if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      return std::optional<std::string>(v["content"].get<std::string>());
    }
    return InvalidArgument("tokenizer config: " + key + " must be a string or an object with \"content\"");
  };
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (!config.contains(key)) continue;
    DV_ASSIGN_OR_RETURN(std::optional<std::string> text, token_text(config[key], key));
    if (text) tokens[key] = *text;
  }
  if (config.contains("additional_special_tokens") && !config["additional_special_tokens"].is_null()) {
    const Json& list = config["additional_special_tokens"];
    if (!list.is_array()) return InvalidArgument("tokenizer config: additional_special_tokens must be a list");
    Json out = Json::array();
    for (const Json& item : list) {
      DV_ASSIGN_OR_RETURN(std::optional<std::string> text, token_text(item, "additional_special_tokens[]"));
      if (text) out.push_back(*text);
    }
    tokens["additional_special_tokens"] = std::move(out);
  }
  DV_RETURN_IF_ERROR(ValidateJson(tokens, "special tokens"));
  return tokens;
}

Result<ChatTemplate> ChatTemplate::FromTokenizerConfig(std::string_view json_text, std::string_view template_name,
                                                       const RenderLimits& limits) {
  Json config;
  try {
    config = Json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("tokenizer config is not valid JSON: ") + e.what());
  }
  if (!config.is_object()) return InvalidArgument("tokenizer config must be a JSON object");
  if (!config.contains("chat_template") || config["chat_template"].is_null()) {
    return NotFound("tokenizer config has no chat_template");
  }
  const Json& tmpl = config["chat_template"];
  std::string source;
  if (tmpl.is_string()) {
    source = tmpl.get<std::string>();
  } else if (tmpl.is_array()) {
    std::string names;
    for (const Json& entry : tmpl) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
          !entry["template"].is_string()) {
        return InvalidArgument("tokenizer config: chat_template list entries must be {\"name\", \"template\"} strings");
      }
      const std::string name = entry["name"].get<std::string>();
      if (name == template_name) source = entry["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + name;
    }
    if (source.empty()) {
      return NotFound("tokenizer config has no chat template named '" + std::string(template_name) + "' (has: " + names + ")");
    }
  } else {
    return InvalidArgument("tokenizer config: chat_template must be a string or a list of named templates");
  }
  DV_ASSIGN_OR_RETURN(ChatTemplate compiled, Compile(source, limits));
  DV_ASSIGN_OR_RETURN(Json tokens, SpecialTokensFromConfig(config));
  DV_RETURN_IF_ERROR(compiled.SetSpecialTokens(std::move(tokens)));
  return compiled;
}

Status ChatTemplate::SetSpecialTokens(Json tokens) {
  if (!tokens.is_object()) return InvalidArgument("special tokens must be a JSON object");
  for (const auto& [k, v] : tokens.items()) {
    bool ok = v.is_string();
    if (v.is_array()) {
      ok = true;
      for (const Json& item : v) ok = ok && item.is_string();
    }
    if (!ok) return InvalidArgument("special token '" + k + "' must be a string or a list of strings");
  }
  DV_RETURN_IF_ERROR(ValidateJson(tokens, "special tokens"));
  special_tokens_ = std::move(tokens);
  return Status::Ok();
}

const std::string& ChatTemplate::source() const { return program_->source; }

Result<std::string> ChatTemplate::Render(const ChatTemplateInput& input) const {
  if (!input.messages.is_array()) return InvalidArgument("messages must be a JSON array");
  for (size_t i = 0; i < input.messages.size(); ++i) {
    if (!input.messages[i].is_object()) {
      return InvalidArgument("messages[" + std::to_string(i) + "] must be a JSON object");
    }
  }
  if (!input.tools.is_null() && !input.tools.is_array()) return InvalidArgument("tools must be a JSON array or null");
  if (!input.kwargs.is_object()) return InvalidArgument("template kwargs must be a JSON object");
  DV_RETURN_IF_ERROR(ValidateJson(input.messages, "messages"));
  DV_RETURN_IF_ERROR(ValidateJson(input.tools, "tools"));
  DV_RETURN_IF_ERROR(ValidateJson(input.kwargs, "kwargs"));
  for (const char* reserved : {"messages", "tools", "documents", "add_generation_prompt"}) {
    if (input.kwargs.contains(reserved)) {
      return InvalidArgument(std::string("template kwargs must not contain '") + reserved + "' (it has its own field)");
    }
  }
  try {
    auto globals = std::make_shared<Scope>(nullptr);
    InstallGlobals(*globals);
    globals->vars["messages"] = Value::FromJson(input.messages);
    globals->vars["tools"] = Value::FromJson(input.tools);
    globals->vars["documents"] = Value::None();
    globals->vars["add_generation_prompt"] = Value::Bool(input.add_generation_prompt);
    for (const auto& [k, v] : special_tokens_.items()) globals->vars[k] = Value::FromJson(v);
    for (const auto& [k, v] : input.kwargs.items()) globals->vars[k] = Value::FromJson(v);
    Interpreter interpreter(program_->limits, globals);
    std::string out = interpreter.Render(program_->body);
    globals->vars.clear();
    return out;
  } catch (const TemplateError& e) {
    return ToStatus(e).AddContext("rendering chat template");
  }
}

Result<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  ChatTemplateInput input;
  for (const ChatMessage& m : messages) input.messages.push_back(m.ToJson());
  input.add_generation_prompt = add_generation_prompt;
  return Render(input);
}

}  // namespace dv::chat
