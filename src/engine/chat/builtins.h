// The built-in vocabulary of chat templates: Jinja2 filters and tests, the Python methods of
// str/list/dict that templates call, attribute lookup, and the globals HF provides
// (range, namespace, dict, raise_exception, strftime_now).
//
// What is deliberately absent is the sandbox: no builtin reads files, the environment, the
// network or the clock beyond strftime_now; list/dict mutators (append, update, pop, ...) are
// refused as HF's ImmutableSandboxedEnvironment refuses them.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "engine/chat/interpreter.h"
#include "engine/chat/value.h"

namespace dv::chat {

bool HasFilter(std::string_view name);
bool HasTest(std::string_view name);

// Throws TemplateError on bad arguments or types.
Value ApplyFilter(Interpreter& in, std::string_view name, const Value& operand, CallArgs args);
bool ApplyTest(Interpreter& in, std::string_view name, const Value& operand, CallArgs args);

// obj.name with Jinja's sandboxed getattr: methods of str/list/dict first, then (unless
// `python_only`, as in the attr() filter) dict keys; missing → undefined with Jinja's hint.
// Throws when obj itself is undefined.
Value GetAttribute(const Value& obj, const std::string& name, bool python_only = false);
// obj[key] with Jinja's getitem: item first, then (for a str key) attribute; missing → undefined.
Value GetItem(const Value& obj, const Value& key);

// s.replace(old, repl, count), refusing (before building it) a result over the size bounds.
Value ReplaceBounded(Interpreter& in, const std::string& s, const std::string& old, const std::string& repl,
                     int64_t count);

// Adds the global functions to `globals`.
void InstallGlobals(Scope& globals);

// Positional/keyword argument binding for builtins with Python-like signatures.
class BoundArgs {
 public:
  // Throws on too many positional arguments, unknown keywords, or a parameter given twice.
  BoundArgs(std::string_view function, CallArgs args, std::initializer_list<std::string_view> params);
  // The argument for parameter `i`, or nullptr when not given.
  const Value* Get(size_t i) const { return i < values_.size() && given_[i] ? &values_[i] : nullptr; }
  Value GetOr(size_t i, Value fallback) const { return Get(i) ? values_[i] : std::move(fallback); }
  // Typed accessors; throw TemplateError naming the function when the type is wrong.
  int64_t Int(size_t i, int64_t fallback) const;
  bool Bool(size_t i, bool fallback) const;
  std::string Str(size_t i, const std::string& fallback) const;

 private:
  std::string function_;
  std::vector<std::string_view> names_;
  std::vector<Value> values_;
  std::vector<bool> given_;
};

}  // namespace dv::chat
