// The values a chat template computes with: Python objects as Jinja2 sees them.
//
//   undefined  Jinja's Undefined (a missing variable, key or attribute); prints as "", is falsy,
//              iterates as empty, and raises on arithmetic or attribute access.
//   none, bool, int (64-bit; overflow is an error), float, str (UTF-8; lengths and indices count
//   code points), list (also tuples), dict (insertion-ordered; keys are str/int/float/bool/none),
//   callable (builtins, bound methods, macros).
//
// Lists and dicts are shared by reference, as in Python. The interpreter never mutates a list or
// dict after creating it (HF renders with Jinja's ImmutableSandboxedEnvironment), except
// namespace() objects, whose attributes `{% set ns.x = ... %}` assigns.
//
// Thread safety: a Value and everything reachable from it belong to one render; values are not
// shared between threads (the compiled template is).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace dv::chat {

class Value;
class Interpreter;

// An error raised while compiling or rendering a template. Internal to the chat module: the
// public API converts it to a dv::Status.
class TemplateError : public std::exception {
 public:
  enum class Kind { kInvalid, kLimit, kRaised };  // bad template/input, sandbox limit, raise_exception
  explicit TemplateError(std::string message, Kind kind = Kind::kInvalid)
      : message_(std::move(message)), kind_(kind) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }
  Kind kind() const { return kind_; }

 private:
  std::string message_;
  Kind kind_;
};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
};

class DictData {
 public:
  // The value stored under `key`, or nullptr. Throws TemplateError for an unhashable key.
  const Value* Find(const Value& key) const;
  // Inserts or replaces; a replaced key keeps its original position.
  void Set(const Value& key, Value value);
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

  bool is_namespace = false;  // created by namespace(): attribute assignment allowed

 private:
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;  // hash key (see HashKey in value.cc) → entry
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

class Callable {
 public:
  virtual ~Callable() = default;
  // Throws TemplateError on bad arguments.
  virtual Value Call(Interpreter& interpreter, CallArgs args) const = 0;
  virtual std::string name() const = 0;
};

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  // Undefined; `hint` says what was missing ("'dict object' has no attribute 'x'").
  Value() = default;
  static Value Undefined(std::string hint);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value Str(std::string s);
  static Value MakeList(std::vector<Value> items, bool is_tuple = false);
  static Value MakeDict(std::shared_ptr<DictData> dict);
  static Value MakeCallable(std::shared_ptr<const Callable> fn);

  // Converts JSON (from the API boundary). Strings must be valid UTF-8 (the caller validates).
  static Value FromJson(const nlohmann::ordered_json& json);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  // REQUIRES: the matching kind.
  bool bool_value() const { return std::get<bool>(scalar_); }
  int64_t int_value() const;  // also accepts bool (as Python does)
  double float_value() const;  // accepts int and bool too
  const std::string& str() const { return *text_; }
  const ListData& list() const { return *list_; }
  DictData& dict() const { return *dict_; }
  const Callable& callable() const { return *fn_; }
  const std::shared_ptr<const Callable>& callable_ptr() const { return fn_; }
  // For undefined: what was missing.
  const std::string& undefined_hint() const;

  // Python truthiness (undefined is falsy).
  bool Truthy() const;
  // str(value) as Jinja prints it: undefined → "", None → "None", True → "True", lists → repr.
  std::string ToStr() const;
  // repr(value).
  std::string Repr() const;
  // Python's type name: "str", "int", "list", "tuple", "dict", "NoneType", ...
  std::string TypeName() const;
  // Number of items: code points of a string, entries of a list/dict. Throws for other kinds.
  size_t Length() const;
  // The items `for x in value` visits: list items, dict keys, string code points; undefined
  // iterates as empty. Throws for other kinds.
  std::vector<Value> Iterate() const;

  // json.dumps(value, ensure_ascii=..., indent=..., separators=..., sort_keys=...), which is what
  // HF's tojson filter calls. Throws for values JSON cannot hold.
  struct JsonOptions {
    int indent = -1;             // < 0: None (one line)
    bool ensure_ascii = false;   // HF's default; true escapes non-ASCII as \uXXXX
    bool sort_keys = false;
    std::string item_separator;  // empty: json.dumps default (", " or "," when indenting)
    std::string key_separator;   // empty: ": "
  };
  std::string ToJson(const JsonOptions& options) const;

 private:
  Kind kind_ = Kind::kUndefined;
  std::variant<std::monostate, bool, int64_t, double> scalar_;
  std::shared_ptr<const std::string> text_;  // string contents, or the undefined hint
  std::shared_ptr<ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<const Callable> fn_;
};

// Python ==.
bool Equals(const Value& a, const Value& b);
// Python ordering for <, <=, >, >=: negative, zero or positive. Throws TemplateError when the
// two kinds cannot be ordered ("'<' not supported between instances of 'str' and 'int'").
int Compare(const Value& a, const Value& b, std::string_view op);

}  // namespace dv::chat
