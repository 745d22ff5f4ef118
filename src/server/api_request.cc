#include "server/api_request.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace dv::server {
namespace {

constexpr size_t kMaxMessages = 10'000;
constexpr size_t kMaxInputs = 2048;

Result<std::string> RequireModel(const Json& body) {
  DV_ASSIGN_OR_RETURN(auto model, GetString(body, "model"));
  if (!model || model->empty()) return InvalidArgument("model is required: the name of a model from /v1/models");
  if (model->size() > 256) return InvalidArgument("model name is longer than 256 characters");
  return *model;
}

// Message content: a string, null, or an array of {"type":"text","text":...} parts (joined).
Result<nlohmann::ordered_json> NormalizeContent(const Json& content, size_t index) {
  const std::string where = "messages[" + std::to_string(index) + "].content";
  if (content.is_null() || content.is_string()) return nlohmann::ordered_json(content);
  if (!content.is_array()) {
    return InvalidArgument(where + " must be a string or an array of content parts, got " +
                           std::string(JsonTypeName(content)));
  }
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string pw = where + "[" + std::to_string(i) + "]";
    if (!part.is_object()) return InvalidArgument(pw + " must be an object");
    DV_ASSIGN_OR_RETURN(auto type, GetString(part, "type", pw + ".type"));
    if (!type) return InvalidArgument(pw + ".type is required");
    if (*type == "text") {
      DV_ASSIGN_OR_RETURN(auto t, GetString(part, "text", pw + ".text"));
      if (!t) return InvalidArgument(pw + ".text is required");
      text += *t;
    } else if (*type == "image_url" || *type == "input_audio" || *type == "file" || *type == "image") {
      return Unimplemented(pw + ": " + *type + " input is not supported; this server serves text models");
    } else {
      return InvalidArgument(pw + ".type \"" + *type + "\" is unknown; expected \"text\"");
    }
  }
  return nlohmann::ordered_json(text);
}

Result<nlohmann::ordered_json> ParseMessages(const Json& body, bool ollama) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) {
    if (ollama) return nlohmann::ordered_json::array();
    return InvalidArgument("messages is required: an array of {role, content} objects");
  }
  if (!it->is_array()) return InvalidArgument("messages must be an array, got " + std::string(JsonTypeName(*it)));
  if (it->empty() && !ollama) return InvalidArgument("messages must contain at least one message");
  if (it->size() > kMaxMessages) return InvalidArgument("messages holds more than 10000 messages");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidArgument(where + " must be an object, got " + std::string(JsonTypeName(m)));
    DV_ASSIGN_OR_RETURN(auto role, GetString(m, "role", where + ".role"));
    if (!role) return InvalidArgument(where + ".role is required");
    if (*role == "developer") *role = "system";
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool" && *role != "function") {
      return InvalidArgument(where + ".role must be one of system, developer, user, assistant, tool; got \"" +
                             *role + "\"");
    }
    nlohmann::ordered_json msg;
    msg["role"] = *role;
    auto content = m.find("content");
    if (content == m.end()) {
      if (*role != "assistant") return InvalidArgument(where + ".content is required");
      msg["content"] = nullptr;
    } else {
      DV_ASSIGN_OR_RETURN(msg["content"], NormalizeContent(*content, i));
    }
    if (ollama) {
      auto images = m.find("images");
      if (images != m.end() && images->is_array() && !images->empty()) {
        return Unimplemented(where + ".images: image input is not supported; this server serves text models");
      }
      DV_ASSIGN_OR_RETURN(auto thinking, GetString(m, "thinking", where + ".thinking"));
      if (thinking) msg["reasoning_content"] = *thinking;
    } else {
      DV_ASSIGN_OR_RETURN(auto reasoning, GetString(m, "reasoning_content", where + ".reasoning_content"));
      if (reasoning) msg["reasoning_content"] = *reasoning;
    }
    DV_ASSIGN_OR_RETURN(auto name, GetString(m, "name", where + ".name"));
    if (name) msg["name"] = *name;
    DV_ASSIGN_OR_RETURN(auto call_id, GetString(m, "tool_call_id", where + ".tool_call_id"));
    if (call_id) msg["tool_call_id"] = *call_id;
    auto calls = m.find("tool_calls");
    if (calls != m.end() && !calls->is_null()) {
      if (!calls->is_array()) return InvalidArgument(where + ".tool_calls must be an array");
      msg["tool_calls"] = nlohmann::ordered_json::parse(calls->dump());
    }
    out.push_back(std::move(msg));
  }
  return out;
}

Status ParseLogitBias(const Json& body, SamplingParams& p) {
  auto it = body.find("logit_bias");
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return InvalidArgument("logit_bias must be an object of token id → bias");
  if (it->size() > 1024) return InvalidArgument("logit_bias may hold at most 1024 entries");
  for (const auto& [key, value] : it->items()) {
    if (key.empty() || key.size() > 9 || !std::all_of(key.begin(), key.end(), ::isdigit)) {
      return InvalidArgument("logit_bias keys must be token ids (decimal strings), got \"" + key.substr(0, 32) + "\"");
    }
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < -100 ||
        value.get<double>() > 100) {
      return InvalidArgument("logit_bias[\"" + key + "\"] must be a number in [-100, 100]");
    }
    p.logit_bias.emplace_back(std::stoi(key), value.get<float>());
  }
  return Status::Ok();
}

// Fields shared by OpenAI chat and completions.
Status ParseOpenAiCommon(const Json& body, GenerationRequest& r) {
  DV_ASSIGN_OR_RETURN(r.model, RequireModel(body));
  DV_ASSIGN_OR_RETURN(auto temperature, GetNumber(body, "temperature", 0, 2));
  if (temperature) r.sampling.temperature = *temperature;
  DV_ASSIGN_OR_RETURN(auto top_p, GetNumber(body, "top_p", 0, 1));
  if (top_p) r.sampling.top_p = std::max(*top_p, 1e-9);
  DV_ASSIGN_OR_RETURN(auto presence, GetNumber(body, "presence_penalty", -2, 2));
  if (presence) r.sampling.presence_penalty = *presence;
  DV_ASSIGN_OR_RETURN(auto frequency, GetNumber(body, "frequency_penalty", -2, 2));
  if (frequency) r.sampling.frequency_penalty = *frequency;
  DV_ASSIGN_OR_RETURN(auto seed, GetInt(body, "seed", INT64_MIN, INT64_MAX));
  if (seed) {
    r.sampling.seed = static_cast<uint64_t>(*seed);
    r.sampling.has_seed = true;
  }
  DV_RETURN_IF_ERROR(ParseLogitBias(body, r.sampling));
  DV_ASSIGN_OR_RETURN(auto n, GetInt(body, "n", 1, kMaxChoices));
  if (n) r.n = static_cast<int>(*n);
  DV_ASSIGN_OR_RETURN(auto stop, GetStringOrList(body, "stop", kMaxStopStrings));
  if (stop) r.stop = std::move(*stop);
  DV_ASSIGN_OR_RETURN(auto stream, GetBool(body, "stream"));
  r.stream = stream.value_or(false);
  auto so = body.find("stream_options");
  if (so != body.end() && !so->is_null()) {
    if (!so->is_object()) return InvalidArgument("stream_options must be an object");
    if (!r.stream) return InvalidArgument("stream_options is only allowed when stream is true");
    DV_ASSIGN_OR_RETURN(auto usage, GetBool(*so, "include_usage", "stream_options.include_usage"));
    r.include_usage = usage.value_or(false);
  }
  DV_ASSIGN_OR_RETURN(auto user, GetString(body, "user"));
  if (user) {
    if (user->size() > 256) return InvalidArgument("user must be at most 256 characters");
    r.user = *user;
  }
  DV_ASSIGN_OR_RETURN(auto timeout, GetNumber(body, "timeout", 0.001, 86400));
  if (timeout) r.timeout = std::chrono::milliseconds(static_cast<int64_t>(*timeout * 1000));
  return Status::Ok();
}

Result<std::shared_ptr<const grammar::JsonSchema>> CompileSchema(const Json& schema, const std::string& where) {
  auto compiled = grammar::JsonSchema::Compile(schema);
  if (!compiled.ok()) return InvalidArgument(where + ": " + compiled.status().message());
  return std::move(compiled).value();
}

// OpenAI response_format / Ollama format → r.json_schema.
Status ParseResponseFormat(const Json& body, const char* key, GenerationRequest& r) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (std::string_view(key) == "format") {  // Ollama: "json" or a JSON schema object
    if (it->is_string() && it->get<std::string>().empty()) return Status::Ok();
    if (!it->is_string() && !it->is_object()) return InvalidArgument("format must be \"json\" or a JSON schema object");
    if (it->is_string() && it->get<std::string>() != "json") {
      return InvalidArgument("format must be \"json\" or a JSON schema object, got \"" + it->get<std::string>() + "\"");
    }
    if (it->is_string()) {
      r.json_schema = grammar::JsonSchema::AnyObject();
    } else {
      DV_ASSIGN_OR_RETURN(r.json_schema, CompileSchema(*it, "format"));
    }
    return Status::Ok();
  }
  if (!it->is_object()) return InvalidArgument("response_format must be an object");
  DV_ASSIGN_OR_RETURN(auto type, GetString(*it, "type", "response_format.type"));
  if (!type) return InvalidArgument("response_format.type is required");
  if (*type == "text") return Status::Ok();
  if (*type == "json_object") {
    r.json_schema = grammar::JsonSchema::AnyObject();
    return Status::Ok();
  }
  if (*type == "json_schema") {
    auto js = it->find("json_schema");
    if (js == it->end() || !js->is_object()) {
      return InvalidArgument("response_format.json_schema is required: {\"name\": ..., \"schema\": {...}}");
    }
    DV_ASSIGN_OR_RETURN(auto name, GetString(*js, "name", "response_format.json_schema.name"));
    if (name && (name->empty() || name->size() > 64)) {
      return InvalidArgument("response_format.json_schema.name must be 1 to 64 characters");
    }
    DV_ASSIGN_OR_RETURN(auto strict, GetBool(*js, "strict", "response_format.json_schema.strict"));
    (void)strict;  // the output always follows the schema
    auto schema = js->find("schema");
    if (schema == js->end() || schema->is_null()) {
      r.json_schema = grammar::JsonSchema::AnyObject();  // OpenAI: a missing schema allows any object
      return Status::Ok();
    }
    DV_ASSIGN_OR_RETURN(r.json_schema, CompileSchema(*schema, "response_format.json_schema.schema"));
    return Status::Ok();
  }
  return InvalidArgument("response_format.type must be text, json_object or json_schema; got \"" + *type + "\"");
}

bool ValidFunctionName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// tools + tool_choice (OpenAI shape; Ollama uses the same tool objects).
Status ParseTools(const Json& body, GenerationRequest& r) {
  auto it = body.find("tools");
  const bool has_tools = it != body.end() && !it->is_null();
  if (has_tools && !it->is_array()) return InvalidArgument("tools must be an array of {type: function, function}");
  if (has_tools && it->size() > 128) return InvalidArgument("tools may hold at most 128 functions");
  std::vector<std::string> names;
  std::vector<Json> params;
  if (has_tools) {
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& t = (*it)[i];
      const std::string where = "tools[" + std::to_string(i) + "]";
      if (!t.is_object()) return InvalidArgument(where + " must be an object");
      DV_ASSIGN_OR_RETURN(auto type, GetString(t, "type", where + ".type"));
      if (type && *type != "function") return InvalidArgument(where + ".type must be \"function\"");
      auto fn = t.find("function");
      if (fn == t.end() || !fn->is_object()) return InvalidArgument(where + ".function is required (an object)");
      DV_ASSIGN_OR_RETURN(auto name, GetString(*fn, "name", where + ".function.name"));
      if (!name || !ValidFunctionName(*name)) {
        return InvalidArgument(where + ".function.name must be 1 to 64 characters of a-z, A-Z, 0-9, _, - or .");
      }
      if (std::find(names.begin(), names.end(), *name) != names.end()) {
        return InvalidArgument(where + ".function.name \"" + *name + "\" is declared twice");
      }
      DV_ASSIGN_OR_RETURN(auto desc, GetString(*fn, "description", where + ".function.description"));
      (void)desc;
      auto p = fn->find("parameters");
      if (p != fn->end() && !p->is_null() && !p->is_object()) {
        return InvalidArgument(where + ".function.parameters must be a JSON schema object");
      }
      names.push_back(*name);
      params.push_back(p != fn->end() && !p->is_null() ? *p : Json{{"type", "object"}});
    }
    if (!it->empty()) r.tools = nlohmann::ordered_json::parse(it->dump());
  }
  auto choice = body.find("tool_choice");
  r.tool_choice = names.empty() ? ToolChoice::kNone : ToolChoice::kAuto;
  if (choice != body.end() && !choice->is_null()) {
    if (choice->is_string()) {
      const std::string c = choice->get<std::string>();
      if (c == "none") r.tool_choice = ToolChoice::kNone;
      else if (c == "auto") r.tool_choice = names.empty() ? ToolChoice::kNone : ToolChoice::kAuto;
      else if (c == "required") r.tool_choice = ToolChoice::kRequired;
      else return InvalidArgument("tool_choice must be none, auto, required or {type: function, function: {name}}");
    } else if (choice->is_object()) {
      auto fn = choice->find("function");
      if (fn == choice->end() || !fn->is_object()) return InvalidArgument("tool_choice.function is required");
      DV_ASSIGN_OR_RETURN(auto name, GetString(*fn, "name", "tool_choice.function.name"));
      if (!name) return InvalidArgument("tool_choice.function.name is required");
      r.tool_choice = ToolChoice::kNamed;
      r.tool_name = *name;
    } else {
      return InvalidArgument("tool_choice must be a string or an object");
    }
  }
  if ((r.tool_choice == ToolChoice::kRequired || r.tool_choice == ToolChoice::kNamed) && names.empty()) {
    return InvalidArgument("tool_choice requires tools: declare the functions the model may call");
  }
  if (r.tool_choice == ToolChoice::kNone) r.tools = nullptr;
  if (r.tool_choice != ToolChoice::kRequired && r.tool_choice != ToolChoice::kNamed) return Status::Ok();
  // The constrained call: {"name": <allowed name>, "arguments": <its parameters>}.
  Json alternatives = Json::array();
  for (size_t i = 0; i < names.size(); ++i) {
    if (r.tool_choice == ToolChoice::kNamed && names[i] != r.tool_name) continue;
    const std::string where = "tools[" + std::to_string(i) + "].function.parameters";
    DV_ASSIGN_OR_RETURN(auto compiled, CompileSchema(params[i], where));
    if (r.tool_choice == ToolChoice::kNamed) r.tool_params_schema = compiled;
    alternatives.push_back({{"type", "object"},
                            {"properties", {{"name", {{"const", names[i]}}}, {"arguments", params[i]}}},
                            {"required", {"name", "arguments"}},
                            {"additionalProperties", false}});
  }
  if (alternatives.empty()) {
    return InvalidArgument("tool_choice.function.name \"" + r.tool_name + "\" is not one of the declared tools");
  }
  Json call = alternatives.size() == 1 ? alternatives[0] : Json{{"anyOf", alternatives}};
  DV_ASSIGN_OR_RETURN(r.tool_call_schema, CompileSchema(call, "tools"));
  return Status::Ok();
}

Status ParseOllamaOptions(const Json& body, GenerationRequest& r) {
  auto it = body.find("options");
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return InvalidArgument("options must be an object");
  const Json& o = *it;
  DV_ASSIGN_OR_RETURN(auto temperature, GetNumber(o, "temperature", 0, 100, "options.temperature"));
  if (temperature) r.sampling.temperature = *temperature;
  DV_ASSIGN_OR_RETURN(auto top_p, GetNumber(o, "top_p", 0, 1, "options.top_p"));
  if (top_p) r.sampling.top_p = std::max(*top_p, 1e-9);
  DV_ASSIGN_OR_RETURN(auto top_k, GetInt(o, "top_k", 0, 1'000'000, "options.top_k"));
  if (top_k) r.sampling.top_k = static_cast<int>(*top_k);
  DV_ASSIGN_OR_RETURN(auto min_p, GetNumber(o, "min_p", 0, 1, "options.min_p"));
  if (min_p) r.sampling.min_p = *min_p;
  DV_ASSIGN_OR_RETURN(auto seed, GetInt(o, "seed", INT64_MIN, INT64_MAX, "options.seed"));
  if (seed) {
    r.sampling.seed = static_cast<uint64_t>(*seed);
    r.sampling.has_seed = true;
  }
  DV_ASSIGN_OR_RETURN(auto num_predict, GetInt(o, "num_predict", -2, kMaxTokensLimit, "options.num_predict"));
  if (num_predict) {
    if (*num_predict == 0) return InvalidArgument("options.num_predict must be -1, -2 or at least 1, got 0");
    r.max_tokens = *num_predict < 0 ? -1 : *num_predict;
  }
  DV_ASSIGN_OR_RETURN(auto stop, GetStringOrList(o, "stop", kMaxStopStrings, "options.stop"));
  if (stop) r.stop = std::move(*stop);
  DV_ASSIGN_OR_RETURN(auto rp, GetNumber(o, "repeat_penalty", 0.01, 10, "options.repeat_penalty"));
  if (rp) r.sampling.repetition_penalty = *rp;
  DV_ASSIGN_OR_RETURN(auto rln, GetInt(o, "repeat_last_n", -1, 1'000'000, "options.repeat_last_n"));
  if (rln) r.sampling.penalty_last_n = static_cast<int>(*rln);
  DV_ASSIGN_OR_RETURN(auto presence, GetNumber(o, "presence_penalty", -2, 2, "options.presence_penalty"));
  if (presence) r.sampling.presence_penalty = *presence;
  DV_ASSIGN_OR_RETURN(auto frequency, GetNumber(o, "frequency_penalty", -2, 2, "options.frequency_penalty"));
  if (frequency) r.sampling.frequency_penalty = *frequency;
  return Status::Ok();
}

Status ParseOllamaCommon(const Json& body, GenerationRequest& r) {
  DV_ASSIGN_OR_RETURN(r.model, RequireModel(body));
  DV_ASSIGN_OR_RETURN(auto stream, GetBool(body, "stream"));
  r.stream = stream.value_or(true);  // Ollama streams unless told otherwise
  r.sampling.temperature = 0.8;      // Ollama's defaults
  r.sampling.top_k = 40;
  r.sampling.top_p = 0.9;
  r.sampling.repetition_penalty = 1.1;
  DV_RETURN_IF_ERROR(ParseOllamaOptions(body, r));
  DV_RETURN_IF_ERROR(ParseResponseFormat(body, "format", r));
  auto think = body.find("think");
  if (think != body.end() && !think->is_null()) {
    if (think->is_boolean()) {
      r.think = think->get<bool>();
    } else if (think->is_string() &&
               (*think == "high" || *think == "medium" || *think == "low")) {
      r.think = true;
    } else {
      return InvalidArgument("think must be a boolean (or \"low\", \"medium\", \"high\")");
    }
    r.template_kwargs["enable_thinking"] = *r.think;
  }
  auto ka = body.find("keep_alive");
  if (ka != body.end() && !ka->is_null()) {
    DV_ASSIGN_OR_RETURN(r.keep_alive_s, ParseKeepAlive(*ka));
  }
  return Status::Ok();
}

Result<std::vector<std::vector<int32_t>>> TokenArrays(const Json& v, const char* field) {
  std::vector<std::vector<int32_t>> out;
  auto one = [&](const Json& arr) -> Status {
    std::vector<int32_t> ids;
    for (const auto& x : arr) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > INT32_MAX) {
        return InvalidArgument(std::string(field) + " token arrays must hold non-negative integers");
      }
      ids.push_back(static_cast<int32_t>(x.get<int64_t>()));
    }
    if (ids.empty()) return InvalidArgument(std::string(field) + " must not be empty");
    out.push_back(std::move(ids));
    return Status::Ok();
  };
  if (!v.empty() && v[0].is_array()) {
    for (const auto& a : v) {
      if (!a.is_array()) return InvalidArgument(std::string(field) + " mixes token arrays and other values");
      DV_RETURN_IF_ERROR(one(a));
    }
  } else {
    DV_RETURN_IF_ERROR(one(v));
  }
  return out;
}

}  // namespace

std::string ErrorParam(const Status& status) {
  if (status.code() != StatusCode::kInvalidArgument && status.code() != StatusCode::kUnimplemented) return "";
  static const char* const kFields[] = {
      "model", "messages", "prompt", "input", "temperature", "top_p", "n", "stop", "seed", "presence_penalty",
      "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "max_tokens", "max_completion_tokens",
      "stream", "stream_options", "user", "timeout", "response_format", "tools", "tool_choice",
      "chat_template_kwargs", "echo", "best_of", "suffix", "encoding_format", "dimensions", "options", "format",
      "think", "keep_alive", "system", "raw", "template", "images", "context", "truncate"};
  const std::string& m = status.message();
  size_t end = m.find_first_of(" :");
  if (end == std::string::npos) return "";
  const std::string path = m.substr(0, end);
  const size_t head_end = path.find_first_of(".[");
  const std::string head = path.substr(0, head_end);
  for (const char* f : kFields) {
    if (head == f) return path;
  }
  return "";
}

Result<int64_t> ParseKeepAlive(const Json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d > 1e9) return InvalidArgument("keep_alive must be a finite number of seconds");
    return d < 0 ? int64_t{-1} : static_cast<int64_t>(d);
  }
  if (!v.is_string()) return InvalidArgument("keep_alive must be a duration such as \"5m\" or a number of seconds");
  const std::string s = v.get<std::string>();
  if (s.empty()) return InvalidArgument("keep_alive must not be empty");
  if (s[0] == '-') return int64_t{-1};
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i || j - i > 12) return InvalidArgument("keep_alive \"" + s.substr(0, 32) + "\" is not a duration");
    const double num = std::stod(s.substr(i, j - i));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    const std::string unit = s.substr(j, k - j);
    double scale = 0;
    if (unit == "h") scale = 3600;
    else if (unit == "m") scale = 60;
    else if (unit == "s" || unit.empty()) scale = 1;
    else if (unit == "ms") scale = 0.001;
    else return InvalidArgument("keep_alive \"" + s.substr(0, 32) + "\": unknown unit \"" + unit + "\"");
    total += num * scale;
    i = k;
  }
  if (total > 1e9) return InvalidArgument("keep_alive is too long");
  return static_cast<int64_t>(total);
}

Result<GenerationRequest> ParseOpenAiChat(const Json& body) {
  GenerationRequest r;
  r.chat = true;
  DV_RETURN_IF_ERROR(ParseOpenAiCommon(body, r));
  DV_ASSIGN_OR_RETURN(r.messages, ParseMessages(body, /*ollama=*/false));
  DV_ASSIGN_OR_RETURN(auto max_tokens, GetInt(body, "max_tokens", 1, kMaxTokensLimit));
  DV_ASSIGN_OR_RETURN(auto max_completion, GetInt(body, "max_completion_tokens", 1, kMaxTokensLimit));
  if (max_completion) {
    r.max_tokens = *max_completion;
  } else if (max_tokens) {
    r.max_tokens = *max_tokens;
  }
  DV_ASSIGN_OR_RETURN(auto logprobs, GetBool(body, "logprobs"));
  DV_ASSIGN_OR_RETURN(auto top, GetInt(body, "top_logprobs", 0, kMaxTopLogprobs));
  if (top && !logprobs.value_or(false)) return InvalidArgument("top_logprobs requires logprobs to be true");
  if (logprobs.value_or(false)) r.top_logprobs = static_cast<int>(top.value_or(0));
  DV_RETURN_IF_ERROR(ParseResponseFormat(body, "response_format", r));
  DV_RETURN_IF_ERROR(ParseTools(body, r));
  if (r.json_schema && r.tool_call_schema) {
    return InvalidArgument("response_format json_object/json_schema cannot be combined with tool_choice " +
                           std::string(r.tool_choice == ToolChoice::kNamed ? "naming a function" : "required"));
  }
  auto kwargs = body.find("chat_template_kwargs");
  if (kwargs != body.end() && !kwargs->is_null()) {
    if (!kwargs->is_object()) return InvalidArgument("chat_template_kwargs must be an object");
    r.template_kwargs = nlohmann::ordered_json::parse(kwargs->dump());
    if (r.template_kwargs.contains("enable_thinking") && r.template_kwargs["enable_thinking"].is_boolean()) {
      r.think = r.template_kwargs["enable_thinking"].get<bool>();
    }
  }
  return r;
}

Result<GenerationRequest> ParseOpenAiCompletion(const Json& body) {
  GenerationRequest r;
  r.chat = false;
  DV_RETURN_IF_ERROR(ParseOpenAiCommon(body, r));
  auto prompt = body.find("prompt");
  if (prompt == body.end() || prompt->is_null()) return InvalidArgument("prompt is required");
  if (prompt->is_string()) {
    r.prompts.push_back(prompt->get<std::string>());
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_string()) {
    if (prompt->size() > kMaxInputs) return InvalidArgument("prompt may hold at most 2048 prompts");
    for (const auto& p : *prompt) {
      if (!p.is_string()) return InvalidArgument("prompt must be a string, an array of strings, or token arrays");
      r.prompts.push_back(p.get<std::string>());
    }
  } else if (prompt->is_array() && !prompt->empty()) {
    DV_ASSIGN_OR_RETURN(r.prompt_tokens, TokenArrays(*prompt, "prompt"));
  } else {
    return InvalidArgument("prompt must be a string, an array of strings, or token arrays");
  }
  if (r.prompts.size() + r.prompt_tokens.size() > static_cast<size_t>(kMaxChoices)) {
    return InvalidArgument("at most 16 prompts per request");
  }
  DV_ASSIGN_OR_RETURN(auto max_tokens, GetInt(body, "max_tokens", 1, kMaxTokensLimit));
  r.max_tokens = max_tokens.value_or(16);  // the OpenAI default for completions
  DV_ASSIGN_OR_RETURN(auto logprobs, GetInt(body, "logprobs", 0, 5));
  if (logprobs) r.top_logprobs = static_cast<int>(*logprobs);
  DV_ASSIGN_OR_RETURN(auto echo, GetBool(body, "echo"));
  r.echo = echo.value_or(false);
  DV_ASSIGN_OR_RETURN(auto best_of, GetInt(body, "best_of", 1, kMaxChoices));
  if (best_of && *best_of != r.n) return Unimplemented("best_of other than n is not supported");
  DV_ASSIGN_OR_RETURN(auto suffix, GetString(body, "suffix"));
  if (suffix && !suffix->empty()) return Unimplemented("suffix (fill-in-the-middle) is not supported");
  if (r.echo && r.stream) return InvalidArgument("echo is not supported together with stream");
  return r;
}

Result<EmbeddingRequest> ParseOpenAiEmbedding(const Json& body) {
  EmbeddingRequest r;
  DV_ASSIGN_OR_RETURN(r.model, RequireModel(body));
  auto input = body.find("input");
  if (input == body.end() || input->is_null()) return InvalidArgument("input is required");
  if (input->is_string()) {
    r.texts.push_back(input->get<std::string>());
  } else if (input->is_array() && !input->empty() && (*input)[0].is_string()) {
    for (const auto& t : *input) {
      if (!t.is_string()) return InvalidArgument("input must be a string, an array of strings, or token arrays");
      r.texts.push_back(t.get<std::string>());
    }
  } else if (input->is_array() && !input->empty()) {
    DV_ASSIGN_OR_RETURN(r.token_inputs, TokenArrays(*input, "input"));
  } else {
    return InvalidArgument("input must be a non-empty string, array of strings, or token arrays");
  }
  if (r.texts.size() + r.token_inputs.size() > kMaxInputs) return InvalidArgument("input may hold at most 2048 items");
  for (const auto& t : r.texts) {
    if (t.empty()) return InvalidArgument("input must not contain empty strings");
  }
  DV_ASSIGN_OR_RETURN(auto format, GetString(body, "encoding_format"));
  if (format && *format != "float" && *format != "base64") {
    return InvalidArgument("encoding_format must be \"float\" or \"base64\", got \"" + *format + "\"");
  }
  r.base64 = format && *format == "base64";
  DV_ASSIGN_OR_RETURN(r.dimensions, GetInt(body, "dimensions", 1, 1 << 20));
  r.truncate = false;
  return r;
}

Result<GenerationRequest> ParseOllamaChat(const Json& body) {
  GenerationRequest r;
  r.chat = true;
  DV_RETURN_IF_ERROR(ParseOllamaCommon(body, r));
  DV_ASSIGN_OR_RETURN(r.messages, ParseMessages(body, /*ollama=*/true));
  DV_RETURN_IF_ERROR(ParseTools(body, r));
  if (r.json_schema && r.tool_call_schema) return InvalidArgument("format cannot be combined with a required tool call");
  return r;
}

Result<GenerationRequest> ParseOllamaGenerate(const Json& body) {
  GenerationRequest r;
  r.chat = false;
  DV_RETURN_IF_ERROR(ParseOllamaCommon(body, r));
  DV_ASSIGN_OR_RETURN(auto prompt, GetString(body, "prompt"));
  if (prompt && !prompt->empty()) r.prompts.push_back(*prompt);
  DV_ASSIGN_OR_RETURN(auto system, GetString(body, "system"));
  r.system = system.value_or("");
  DV_ASSIGN_OR_RETURN(auto raw, GetBool(body, "raw"));
  r.raw = raw.value_or(false);
  DV_ASSIGN_OR_RETURN(auto tmpl, GetString(body, "template"));
  if (tmpl && !tmpl->empty()) return Unimplemented("template overrides (Go templates) are not supported");
  DV_ASSIGN_OR_RETURN(auto suffix, GetString(body, "suffix"));
  if (suffix && !suffix->empty()) return Unimplemented("suffix (fill-in-the-middle) is not supported");
  auto images = body.find("images");
  if (images != body.end() && images->is_array() && !images->empty()) {
    return Unimplemented("images: image input is not supported; this server serves text models");
  }
  auto context = body.find("context");
  if (context != body.end() && !context->is_null()) {
    if (!context->is_array()) return InvalidArgument("context must be an array of token ids");
    if (!context->empty()) {
      DV_ASSIGN_OR_RETURN(auto ctx, TokenArrays(*context, "context"));
      r.prompt_tokens = std::move(ctx);
    }
  }
  return r;
}

Result<EmbeddingRequest> ParseOllamaEmbed(const Json& body) {
  EmbeddingRequest r;
  DV_ASSIGN_OR_RETURN(r.model, RequireModel(body));
  DV_ASSIGN_OR_RETURN(auto texts, GetStringOrList(body, "input", kMaxInputs));
  if (!texts || texts->empty()) return InvalidArgument("input is required: a string or an array of strings");
  for (const auto& t : *texts) {
    if (t.empty()) return InvalidArgument("input must not contain empty strings");
  }
  r.texts = std::move(*texts);
  DV_ASSIGN_OR_RETURN(auto truncate, GetBool(body, "truncate"));
  r.truncate = truncate.value_or(true);
  DV_ASSIGN_OR_RETURN(r.dimensions, GetInt(body, "dimensions", 1, 1 << 20));
  auto ka = body.find("keep_alive");
  if (ka != body.end() && !ka->is_null()) DV_RETURN_IF_ERROR(ParseKeepAlive(*ka).status());
  return r;
}

}  // namespace dv::server
