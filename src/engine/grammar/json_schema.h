// A JSON-schema subset compiled into the constraint tree that JsonMatcher walks while decoding.
//
// Supported keywords: type (object, array, string, number, integer, boolean, null, or a list),
// properties, required, additionalProperties (true, false or a schema; absent = any value),
// items, minItems, maxItems, minLength, maxLength, enum, const, anyOf. Annotations are ignored:
// title, description, default, examples, format, $schema, $id, $comment, deprecated, readOnly,
// writeOnly. Any other keyword is rejected with InvalidArgument naming it and where it is
// ("unsupported JSON schema keyword \"pattern\" at $.properties.zip").
//
// A schema that no JSON value can satisfy (minItems > maxItems, an enum with no value of the
// declared type, a required property whose schema is false, anyOf with no satisfiable branch, ...)
// is rejected with InvalidArgument saying why. enum/const values are matched as their compact
// serialization (e.g. "red" → the text "red" with quotes); other keywords are not checked against
// them.
//
// Thread safety: a compiled JsonSchema is immutable; share it freely.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "deepvault/status.h"

namespace dv::grammar {

inline constexpr int kMaxProperties = 64;  // per object schema (a bit mask tracks them)

enum TypeBit : uint8_t {
  kObject = 1, kArray = 2, kString = 4, kNumber = 8, kInteger = 16, kBoolean = 32, kNull = 64,
  kAnyType = 127,
};

struct SchemaNode {
  uint8_t types = kAnyType;
  // enum/const: the value must be one of these texts (compact JSON). Empty: no enum.
  bool has_literals = false;
  std::vector<std::string> literals;
  // anyOf: the value matches one of these (and nothing else on this node applies).
  std::vector<const SchemaNode*> any_of;
  // Objects. prop_names are JSON-escaped, without quotes, as the model must write them.
  std::vector<std::string> prop_names;
  std::vector<const SchemaNode*> prop_nodes;
  uint64_t required = 0;                   // bit i: prop_names[i] is required
  const SchemaNode* additional = nullptr;  // schema of other keys; nullptr: none allowed
  // Arrays.
  const SchemaNode* items = nullptr;       // nullptr: no items allowed (max_items is 0 then)
  uint32_t min_items = 0, max_items = UINT32_MAX;
  // Strings (in Unicode code points).
  uint32_t min_length = 0, max_length = UINT32_MAX;
};

class JsonSchema {
 public:
  // Any JSON value whose top level is an object (response_format json_object, Ollama "json").
  static std::shared_ptr<const JsonSchema> AnyObject();
  // Compiles `schema` (a JSON Schema object or boolean). See the header comment for errors.
  static Result<std::shared_ptr<const JsonSchema>> Compile(const nlohmann::json& schema);

  const SchemaNode* root() const { return root_; }
  // A node that accepts any JSON value.
  const SchemaNode* any() const { return any_; }

  // Owns nodes created by the compiler (deque: stable addresses).
  SchemaNode* NewNode() { return &nodes_.emplace_back(); }

 private:
  JsonSchema();
  std::deque<SchemaNode> nodes_;
  const SchemaNode* root_ = nullptr;
  const SchemaNode* any_ = nullptr;
};

}  // namespace dv::grammar
