#include "engine/grammar/json_schema.h"

#include <algorithm>
#include <set>

namespace dv::grammar {
namespace {

using Json = nlohmann::json;

constexpr int kMaxSchemaDepth = 64;
constexpr int64_t kMaxCount = int64_t{1} << 31;

const std::set<std::string, std::less<>>& Annotations() {
  static const std::set<std::string, std::less<>> k = {"title",    "description", "default",    "examples",
                                                       "format",   "$schema",     "$id",        "$comment",
                                                       "deprecated", "readOnly",  "writeOnly"};
  return k;
}

const std::set<std::string, std::less<>>& Supported() {
  static const std::set<std::string, std::less<>> k = {
      "type",     "properties", "required",  "additionalProperties", "items", "minItems",
      "maxItems", "minLength",  "maxLength", "enum",                 "const", "anyOf"};
  return k;
}

uint8_t TypeOfValue(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object: return kObject;
    case Json::value_t::array: return kArray;
    case Json::value_t::string: return kString;
    case Json::value_t::boolean: return kBoolean;
    case Json::value_t::null: return kNull;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return kInteger | kNumber;
    case Json::value_t::number_float: {
      const double d = v.get<double>();
      return d == static_cast<double>(static_cast<int64_t>(d)) ? (kInteger | kNumber) : kNumber;
    }
    default: return 0;
  }
}

std::string EscapedName(const std::string& key) {
  const std::string quoted = Json(key).dump(-1, ' ', false, Json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

class Compiler {
 public:
  explicit Compiler(JsonSchema& out) : out_(out) {}

  // nullptr with *why set: the schema can never be satisfied. Errors: unsupported or malformed.
  Result<const SchemaNode*> Node(const Json& s, const std::string& path, int depth, std::string* why) {
    if (depth > kMaxSchemaDepth) return InvalidArgument("JSON schema is nested deeper than 64 levels at " + path);
    if (s.is_boolean()) {
      if (s.get<bool>()) return out_.any();
      *why = "the schema at " + path + " is false";
      return static_cast<const SchemaNode*>(nullptr);
    }
    if (!s.is_object()) return InvalidArgument("JSON schema at " + path + " must be an object or a boolean");
    for (const auto& [key, value] : s.items()) {
      if (Supported().count(key) == 0 && Annotations().count(key) == 0) {
        return InvalidArgument("unsupported JSON schema keyword \"" + key + "\" at " + path);
      }
    }
    SchemaNode* n = out_.NewNode();
    if (auto it = s.find("anyOf"); it != s.end()) {
      for (const auto& [key, value] : s.items()) {
        if (key != "anyOf" && Annotations().count(key) == 0) {
          return InvalidArgument("JSON schema keyword \"" + key + "\" next to anyOf at " + path +
                                 " is not supported; move it into each branch");
        }
      }
      if (!it->is_array() || it->empty()) return InvalidArgument(path + ".anyOf must be a non-empty array");
      std::string last_why;
      for (size_t i = 0; i < it->size(); ++i) {
        DV_ASSIGN_OR_RETURN(const SchemaNode* alt,
                            Node((*it)[i], path + ".anyOf[" + std::to_string(i) + "]", depth + 1, &last_why));
        if (alt) n->any_of.push_back(alt);
      }
      if (n->any_of.empty()) {
        *why = "no branch of " + path + ".anyOf can be satisfied (" + last_why + ")";
        return static_cast<const SchemaNode*>(nullptr);
      }
      return n;
    }
    if (auto it = s.find("type"); it != s.end()) {
      DV_ASSIGN_OR_RETURN(n->types, Types(*it, path));
    }
    DV_RETURN_IF_ERROR(Literals(s, path, n));
    if (n->has_literals) {
      if (n->literals.empty()) {
        *why = "no enum/const value at " + path + " has the declared type";
        return static_cast<const SchemaNode*>(nullptr);
      }
      return n;
    }
    std::string reason;
    if (n->types & kObject) {
      DV_ASSIGN_OR_RETURN(bool ok, Object(s, path, depth, n, &reason));
      if (!ok) n->types &= static_cast<uint8_t>(~kObject);
    }
    if (n->types & kArray) {
      DV_ASSIGN_OR_RETURN(bool ok, Array(s, path, depth, n, &reason));
      if (!ok) n->types &= static_cast<uint8_t>(~kArray);
    }
    if (n->types & kString) {
      DV_ASSIGN_OR_RETURN(n->min_length, Count(s, "minLength", path, 0));
      DV_ASSIGN_OR_RETURN(n->max_length, Count(s, "maxLength", path, UINT32_MAX));
      if (n->min_length > n->max_length) {
        reason = path + ".minLength is greater than maxLength";
        n->types &= static_cast<uint8_t>(~kString);
      }
    }
    if (n->types == 0) {
      *why = reason.empty() ? "the schema at " + path + " allows no type" : reason;
      return static_cast<const SchemaNode*>(nullptr);
    }
    return n;
  }

 private:
  Result<uint8_t> Types(const Json& t, const std::string& path) {
    auto one = [&](const Json& name) -> Result<uint8_t> {
      static const std::pair<const char*, uint8_t> kNames[] = {
          {"object", kObject}, {"array", kArray}, {"string", kString},  {"number", kNumber | kInteger},
          {"integer", kInteger}, {"boolean", kBoolean}, {"null", kNull}};
      if (name.is_string()) {
        for (const auto& [text, bit] : kNames) {
          if (name.get<std::string>() == text) return bit;
        }
      }
      return InvalidArgument(path + ".type must be one of object, array, string, number, integer, boolean, null");
    };
    if (!t.is_array()) return one(t);
    if (t.empty()) return InvalidArgument(path + ".type must not be an empty list");
    uint8_t bits = 0;
    for (const auto& x : t) {
      DV_ASSIGN_OR_RETURN(uint8_t b, one(x));
      bits |= b;
    }
    return bits;
  }

  Status Literals(const Json& s, const std::string& path, SchemaNode* n) {
    std::vector<const Json*> values;
    auto e = s.find("enum");
    if (e != s.end()) {
      if (!e->is_array() || e->empty()) return InvalidArgument(path + ".enum must be a non-empty array");
      for (const auto& v : *e) values.push_back(&v);
    }
    auto c = s.find("const");
    if (c != s.end()) {
      if (e != s.end()) {
        const bool in_enum = std::any_of(values.begin(), values.end(), [&](const Json* v) { return *v == *c; });
        values.clear();
        if (in_enum) values.push_back(&*c);
      } else {
        values.push_back(&*c);
      }
    }
    if (e == s.end() && c == s.end()) return Status::Ok();
    n->has_literals = true;
    for (const Json* v : values) {
      if ((TypeOfValue(*v) & n->types) == 0) continue;
      std::string text = v->dump(-1, ' ', false, Json::error_handler_t::replace);
      if (std::find(n->literals.begin(), n->literals.end(), text) == n->literals.end()) {
        n->literals.push_back(std::move(text));
      }
    }
    return Status::Ok();
  }

  Result<uint32_t> Count(const Json& s, const char* key, const std::string& path, uint32_t fallback) {
    auto it = s.find(key);
    if (it == s.end()) return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() >= kMaxCount) {
      return InvalidArgument(path + "." + key + " must be a non-negative integer below 2^31");
    }
    return static_cast<uint32_t>(it->get<int64_t>());
  }

  // False (with *reason) when no object can satisfy the schema.
  Result<bool> Object(const Json& s, const std::string& path, int depth, SchemaNode* n, std::string* reason) {
    auto props = s.find("properties");
    std::vector<std::string> names;
    std::vector<const SchemaNode*> nodes;
    if (props != s.end()) {
      if (!props->is_object()) return InvalidArgument(path + ".properties must be an object");
      if (props->size() > static_cast<size_t>(kMaxProperties)) {
        return InvalidArgument(path + ".properties has more than " + std::to_string(kMaxProperties) + " entries");
      }
      for (const auto& [key, sub] : props->items()) {
        std::string why;
        DV_ASSIGN_OR_RETURN(const SchemaNode* node, Node(sub, path + ".properties." + key, depth + 1, &why));
        names.push_back(key);
        nodes.push_back(node);  // nullptr: the property may not appear
      }
    }
    n->additional = out_.any();
    if (auto ap = s.find("additionalProperties"); ap != s.end()) {
      std::string why;
      DV_ASSIGN_OR_RETURN(n->additional, Node(*ap, path + ".additionalProperties", depth + 1, &why));
    }
    if (auto req = s.find("required"); req != s.end()) {
      if (!req->is_array()) return InvalidArgument(path + ".required must be an array of property names");
      for (const auto& r : *req) {
        if (!r.is_string()) return InvalidArgument(path + ".required must be an array of property names");
        const auto it = std::find(names.begin(), names.end(), r.get<std::string>());
        if (it == names.end()) {
          if (n->additional == nullptr) {
            *reason = "required property \"" + r.get<std::string>() + "\" at " + path +
                      " is not in properties and additionalProperties is false";
            return false;
          }
          return InvalidArgument("required property \"" + r.get<std::string>() + "\" at " + path +
                                 " must be declared in properties");
        }
        const size_t i = static_cast<size_t>(it - names.begin());
        if (nodes[i] == nullptr) {
          *reason = "required property \"" + names[i] + "\" at " + path + " has a schema no value satisfies";
          return false;
        }
        n->required |= uint64_t{1} << i;
      }
    }
    for (size_t i = 0; i < names.size(); ++i) {
      n->prop_names.push_back(EscapedName(names[i]));
      n->prop_nodes.push_back(nodes[i]);
    }
    return true;
  }

  Result<bool> Array(const Json& s, const std::string& path, int depth, SchemaNode* n, std::string* reason) {
    DV_ASSIGN_OR_RETURN(n->min_items, Count(s, "minItems", path, 0));
    DV_ASSIGN_OR_RETURN(n->max_items, Count(s, "maxItems", path, UINT32_MAX));
    n->items = out_.any();
    std::string why;
    if (auto it = s.find("items"); it != s.end()) {
      DV_ASSIGN_OR_RETURN(n->items, Node(*it, path + ".items", depth + 1, &why));
    }
    if (n->items == nullptr) n->max_items = 0;
    if (n->min_items > n->max_items) {
      *reason = n->items == nullptr ? "the items of " + path + " can never be satisfied (" + why + ") but minItems is " +
                                          std::to_string(n->min_items)
                                    : path + ".minItems is greater than maxItems";
      return false;
    }
    return true;
  }

  JsonSchema& out_;
};

}  // namespace

JsonSchema::JsonSchema() {
  SchemaNode* any = NewNode();
  any->additional = any;
  any->items = any;
  any_ = any;
  root_ = any;
}

std::shared_ptr<const JsonSchema> JsonSchema::AnyObject() {
  auto s = std::shared_ptr<JsonSchema>(new JsonSchema());
  SchemaNode* root = s->NewNode();
  *root = *s->any_;
  root->types = kObject;
  s->root_ = root;
  return s;
}

Result<std::shared_ptr<const JsonSchema>> JsonSchema::Compile(const nlohmann::json& schema) {
  auto s = std::shared_ptr<JsonSchema>(new JsonSchema());
  Compiler compiler(*s);
  std::string why;
  DV_ASSIGN_OR_RETURN(const SchemaNode* root, compiler.Node(schema, "$", 0, &why));
  if (root == nullptr) return InvalidArgument("the JSON schema cannot be satisfied: " + why);
  s->root_ = root;
  return std::shared_ptr<const JsonSchema>(std::move(s));
}

}  // namespace dv::grammar
