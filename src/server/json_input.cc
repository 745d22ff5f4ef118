#include "server/json_input.h"

#include <cmath>

#include "common/utf8.h"

namespace dv::server {
namespace {

std::string Name(const char* key, std::string_view field) { return field.empty() ? key : std::string(field); }

const Json* Lookup(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string_view JsonTypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) return limit + 1;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Result<Json> ParseJsonObject(std::string_view body, int max_depth) {
  if (body.empty()) return InvalidArgument("the request body is empty; expected a JSON object");
  if (!utf8::IsValid(body)) {
    return InvalidArgument("the request body is not valid UTF-8 (first bad byte at offset " +
                           std::to_string(utf8::FirstInvalidOffset(body)) + ")");
  }
  if (JsonNestingDepth(body, max_depth) > max_depth) {
    return InvalidArgument("the request JSON is nested deeper than " + std::to_string(max_depth) + " levels");
  }
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Re-parse with exceptions only to obtain the position and reason for the message.
    try {
      Json reparsed = Json::parse(body);
      (void)reparsed;
    } catch (const Json::parse_error& e) {
      return InvalidArgument("the request body is not valid JSON: " + std::string(e.what()).substr(0, 300));
    }
    return InvalidArgument("the request body is not valid JSON");
  }
  if (!doc.is_object()) {
    return InvalidArgument("the request body must be a JSON object, got " + std::string(JsonTypeName(doc)));
  }
  return doc;
}

Result<std::optional<bool>> GetBool(const Json& obj, const char* key, std::string_view field) {
  const Json* v = Lookup(obj, key);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) {
    return InvalidArgument(Name(key, field) + " must be a boolean, got " + std::string(JsonTypeName(*v)));
  }
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<int64_t>> GetInt(const Json& obj, const char* key, int64_t min, int64_t max,
                                      std::string_view field) {
  const Json* v = Lookup(obj, key);
  if (!v) return std::optional<int64_t>();
  const std::string range = " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  int64_t value = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(Name(key, field) + " must be an integer" + range + ", got " + v->dump());
    }
    value = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::trunc(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e15) {
    value = static_cast<int64_t>(v->get<double>());  // 5.0 is accepted as 5, as Python clients send it
  } else {
    return InvalidArgument(Name(key, field) + " must be an integer" + range + ", got " +
                           std::string(JsonTypeName(*v)) + (v->is_number() ? " " + v->dump() : ""));
  }
  if (value < min || value > max) {
    return InvalidArgument(Name(key, field) + " must be an integer" + range + ", got " + std::to_string(value));
  }
  return std::optional<int64_t>(value);
}

Result<std::optional<double>> GetNumber(const Json& obj, const char* key, double min, double max,
                                        std::string_view field) {
  const Json* v = Lookup(obj, key);
  if (!v) return std::optional<double>();
  auto fmt = [](double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  const std::string range = " in [" + fmt(min) + ", " + fmt(max) + "]";
  if (!v->is_number()) {
    return InvalidArgument(Name(key, field) + " must be a number" + range + ", got " + std::string(JsonTypeName(*v)));
  }
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    return InvalidArgument(Name(key, field) + " must be a number" + range + ", got " + v->dump());
  }
  return std::optional<double>(d);
}

Result<std::optional<std::string>> GetString(const Json& obj, const char* key, std::string_view field) {
  const Json* v = Lookup(obj, key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) {
    return InvalidArgument(Name(key, field) + " must be a string, got " + std::string(JsonTypeName(*v)));
  }
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<std::vector<std::string>>> GetStringOrList(const Json& obj, const char* key, size_t max_items,
                                                               std::string_view field) {
  const Json* v = Lookup(obj, key);
  using Out = std::optional<std::vector<std::string>>;
  if (!v) return Out();
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > max_items) {
      return InvalidArgument(Name(key, field) + " may hold at most " + std::to_string(max_items) + " items, got " +
                             std::to_string(v->size()));
    }
    for (const auto& item : *v) {
      if (!item.is_string()) {
        return InvalidArgument(Name(key, field) + " must be a string or an array of strings; an item is " +
                               std::string(JsonTypeName(item)));
      }
      out.push_back(item.get<std::string>());
    }
  } else {
    return InvalidArgument(Name(key, field) + " must be a string or an array of strings, got " +
                           std::string(JsonTypeName(*v)));
  }
  return Out(std::move(out));
}

}  // namespace dv::server
