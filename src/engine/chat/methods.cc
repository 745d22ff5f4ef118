// Attribute and item lookup, Python methods of str/list/dict, Jinja tests, and the globals.
#include <unicode/uchar.h>

#include <cmath>
#include <ctime>
#include <optional>
#include <unordered_set>

#include "common/utf8.h"
#include "engine/chat/builtins.h"
#include "engine/chat/pystring.h"

namespace dv::chat {
namespace {

// Jinja's object_type_repr: "'dict object'", "'None'".
std::string ObjectRepr(const Value& v) {
  if (v.is_none()) return "'None'";
  return "'" + v.TypeName() + " object'";
}

const std::unordered_set<std::string_view> kStrMethods = {
    "strip", "lstrip", "rstrip", "split", "splitlines", "startswith", "endswith", "replace", "upper",
    "lower", "title", "capitalize", "find", "rfind", "count", "join", "isdigit", "isalpha", "isspace",
    "isalnum", "islower", "isupper", "removeprefix", "removesuffix"};
const std::unordered_set<std::string_view> kListMethods = {"index", "count"};
const std::unordered_set<std::string_view> kListMutators = {"append", "extend", "insert", "pop", "remove",
                                                            "reverse", "sort", "clear"};
const std::unordered_set<std::string_view> kDictMethods = {"items", "keys", "values", "get", "copy"};
const std::unordered_set<std::string_view> kDictMutators = {"pop", "popitem", "setdefault", "update", "clear"};

Value Unsafe(const Value& obj, const std::string& name) {
  // HF renders in an ImmutableSandboxedEnvironment: the attribute resolves to an undefined that
  // raises SecurityError when used.
  return Value::Undefined("access to attribute '" + name + "' of '" + obj.TypeName() + "' object is unsafe.");
}

class BoundMethod : public Callable {
 public:
  BoundMethod(Value self, std::string method) : self_(std::move(self)), method_(std::move(method)) {}
  std::string name() const override { return self_.TypeName() + "." + method_; }
  Value Call(Interpreter& in, CallArgs args) const override;

 private:
  Value self_;
  std::string method_;
};

Value Bind(const Value& self, const std::string& name) {
  return Value::MakeCallable(std::make_shared<BoundMethod>(self, name));
}

bool AllCodePoints(const std::string& s, bool (*pred)(UChar32)) {
  if (s.empty()) return false;
  for (const std::string& cp : py::CodePoints(s)) {
    if (!pred(static_cast<UChar32>(utf8::DecodeAt(cp, 0).code_point))) return false;
  }
  return true;
}

std::optional<std::string> OptionalChars(const BoundArgs& a, size_t i, const char* fn) {
  const Value* v = a.Get(i);
  if (v == nullptr || v->is_none()) return std::nullopt;
  if (!v->is_string()) throw TemplateError(std::string(fn) + " arg must be None or str");
  return v->str();
}

bool PrefixTest(const Value& arg, const std::string& s, bool suffix, const char* fn) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) throw TemplateError(std::string(fn) + " first arg must be str or a tuple of str, not " + p.TypeName());
    return suffix ? s.ends_with(p.str()) : s.starts_with(p.str());
  };
  if (arg.is_list() && arg.list().is_tuple) {
    for (const Value& p : arg.list().items) {
      if (one(p)) return true;
    }
    return false;
  }
  return one(arg);
}

Value StrMethod(Interpreter& in, const std::string& s, const std::string& m, CallArgs args) {
  if (m == "strip" || m == "lstrip" || m == "rstrip") {
    BoundArgs a(m, std::move(args), {"chars"});
    const auto side = m == "strip" ? py::StripSide::kBoth : (m == "lstrip" ? py::StripSide::kLeft : py::StripSide::kRight);
    return in.MakeString(py::Strip(s, OptionalChars(a, 0, m.c_str()), side));
  }
  if (m == "split") {
    BoundArgs a(m, std::move(args), {"sep", "maxsplit"});
    std::optional<std::string> sep = OptionalChars(a, 0, "split");
    if (sep && sep->empty()) throw TemplateError("empty separator");
    std::vector<Value> parts;
    for (std::string& p : py::Split(s, sep, a.Int(1, -1))) parts.push_back(Value::Str(std::move(p)));
    in.ChargeIterations(parts.size());
    return Value::MakeList(std::move(parts));
  }
  if (m == "splitlines") {
    BoundArgs a(m, std::move(args), {});
    std::vector<Value> parts;
    for (std::string& p : py::SplitLines(s)) parts.push_back(Value::Str(std::move(p)));
    in.ChargeIterations(parts.size());
    return Value::MakeList(std::move(parts));
  }
  if (m == "startswith" || m == "endswith") {
    BoundArgs a(m, std::move(args), {"prefix"});
    if (!a.Get(0)) throw TemplateError(m + "() takes at least 1 argument (0 given)");
    return Value::Bool(PrefixTest(*a.Get(0), s, m == "endswith", m.c_str()));
  }
  if (m == "replace") {
    BoundArgs a(m, std::move(args), {"old", "new", "count"});
    if (!a.Get(0) || !a.Get(1)) throw TemplateError("replace() takes at least 2 arguments");
    return ReplaceBounded(in, s, a.Str(0, ""), a.Str(1, ""), a.Int(2, -1));
  }
  if (m == "upper" || m == "lower" || m == "title" || m == "capitalize") {
    BoundArgs a(m, std::move(args), {});
    if (m == "upper") return in.MakeString(py::Upper(s));
    if (m == "lower") return in.MakeString(py::Lower(s));
    if (m == "title") return in.MakeString(py::Title(s));
    return in.MakeString(py::Capitalize(s));
  }
  if (m == "find" || m == "rfind" || m == "count") {
    BoundArgs a(m, std::move(args), {"sub"});
    const std::string sub = a.Str(0, "");
    if (m == "count") {
      if (sub.empty()) return Value::Int(static_cast<int64_t>(py::Length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::Int(n);
    }
    const size_t p = m == "find" ? s.find(sub) : s.rfind(sub);
    return Value::Int(p == std::string::npos ? -1 : static_cast<int64_t>(py::Length(s.substr(0, p))));
  }
  if (m == "join") {
    BoundArgs a(m, std::move(args), {"iterable"});
    if (!a.Get(0)) throw TemplateError("join() takes exactly one argument (0 given)");
    std::string out;
    bool first = true;
    for (const Value& item : a.Get(0)->Iterate()) {
      if (!item.is_string()) throw TemplateError("sequence item: expected str instance, " + item.TypeName() + " found");
      if (!first) out += s;
      first = false;
      out += item.str();
      in.ChargeBytes(out.size());
    }
    return in.MakeString(std::move(out));
  }
  if (m == "removeprefix" || m == "removesuffix") {
    BoundArgs a(m, std::move(args), {"affix"});
    const std::string affix = a.Str(0, "");
    if (m == "removeprefix") return Value::Str(s.starts_with(affix) ? s.substr(affix.size()) : s);
    return Value::Str(s.ends_with(affix) ? s.substr(0, s.size() - affix.size()) : s);
  }
  BoundArgs a(m, std::move(args), {});
  if (m == "isdigit") return Value::Bool(AllCodePoints(s, [](UChar32 c) -> bool { return u_isdigit(c); }));
  if (m == "isalpha") return Value::Bool(AllCodePoints(s, [](UChar32 c) -> bool { return u_isalpha(c); }));
  if (m == "isalnum") return Value::Bool(AllCodePoints(s, [](UChar32 c) -> bool { return u_isalnum(c); }));
  if (m == "isspace") return Value::Bool(AllCodePoints(s, [](UChar32 c) -> bool { return py::IsSpace(static_cast<char32_t>(c)); }));
  if (m == "islower") return Value::Bool(py::Lower(s) == s && py::Upper(s) != s);
  if (m == "isupper") return Value::Bool(py::Upper(s) == s && py::Lower(s) != s);
  throw TemplateError("'str' object has no attribute '" + m + "'");
}

Value BoundMethod::Call(Interpreter& in, CallArgs args) const {
  in.ChargeIterations(0);
  if (self_.is_string()) return StrMethod(in, self_.str(), method_, std::move(args));
  if (self_.is_list()) {
    BoundArgs a(method_, std::move(args), {"value"});
    if (!a.Get(0)) throw TemplateError(method_ + "() takes exactly one argument (0 given)");
    const auto& items = self_.list().items;
    int64_t count = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!Equals(items[i], *a.Get(0))) continue;
      if (method_ == "index") return Value::Int(static_cast<int64_t>(i));
      ++count;
    }
    if (method_ == "index") throw TemplateError(a.Get(0)->Repr() + " is not in list");
    return Value::Int(count);
  }
  // dict
  const DictData& d = self_.dict();
  if (method_ == "get") {
    BoundArgs a("get", std::move(args), {"key", "default"});
    if (!a.Get(0)) throw TemplateError("get expected at least 1 argument, got 0");
    const Value* v = d.Find(*a.Get(0));
    return v ? *v : a.GetOr(1, Value::None());
  }
  BoundArgs a(method_, std::move(args), {});
  if (method_ == "copy") {
    auto copy = std::make_shared<DictData>();
    for (const auto& [k, v] : d.entries()) copy->Set(k, v);
    return Value::MakeDict(std::move(copy));
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.entries()) {
    if (method_ == "keys") {
      out.push_back(k);
    } else if (method_ == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::MakeList({k, v}, /*is_tuple=*/true));
    }
  }
  in.ChargeIterations(out.size());
  return Value::MakeList(std::move(out));
}

// ---- Globals ---------------------------------------------------------------------------------

class Builtin : public Callable {
 public:
  using Fn = Value (*)(Interpreter&, CallArgs);
  Builtin(std::string name, Fn fn) : name_(std::move(name)), fn_(fn) {}
  std::string name() const override { return name_; }
  Value Call(Interpreter& in, CallArgs args) const override { return fn_(in, std::move(args)); }

 private:
  std::string name_;
  Fn fn_;
};

int64_t IntArg(const Value& v, const char* fn) {
  if (!v.is_int() && !v.is_bool()) throw TemplateError(std::string("'") + v.TypeName() + "' object cannot be interpreted as an integer in " + fn + "()");
  return v.int_value();
}

Value Range(Interpreter& in, CallArgs args) {
  if (!args.keyword.empty()) throw TemplateError("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) throw TemplateError("range expected 1 to 3 arguments, got " + std::to_string(p.size()));
  int64_t start = 0, stop, step = 1;
  if (p.size() == 1) {
    stop = IntArg(p[0], "range");
  } else {
    start = IntArg(p[0], "range");
    stop = IntArg(p[1], "range");
    if (p.size() == 3) step = IntArg(p[2], "range");
  }
  if (step == 0) throw TemplateError("range() arg 3 must not be zero");
  const long double span = static_cast<long double>(stop) - static_cast<long double>(start);
  const long double count_ld = span / static_cast<long double>(step);
  const uint64_t count = count_ld <= 0 ? 0 : static_cast<uint64_t>(std::ceil(static_cast<double>(count_ld)));
  if (count > in.limits().max_loop_iterations) {
    throw TemplateError("range() of " + std::to_string(count) + " items exceeds the limit of " +
                            std::to_string(in.limits().max_loop_iterations),
                        TemplateError::Kind::kLimit);
  }
  in.ChargeIterations(count);
  std::vector<Value> items;
  items.reserve(count);
  for (uint64_t i = 0; i < count; ++i) items.push_back(Value::Int(start + static_cast<int64_t>(i) * step));
  return Value::MakeList(std::move(items));
}

Value MakeNamespaceOrDict(CallArgs args, bool is_namespace, const char* fn) {
  auto dict = std::make_shared<DictData>();
  dict->is_namespace = is_namespace;
  if (args.positional.size() > 1) throw TemplateError(std::string(fn) + "() takes at most 1 positional argument");
  if (!args.positional.empty()) {
    const Value& init = args.positional[0];
    if (init.is_dict()) {
      for (const auto& [k, v] : init.dict().entries()) dict->Set(k, v);
    } else {
      for (const Value& pair : init.Iterate()) {
        const std::vector<Value> kv = pair.Iterate();
        if (kv.size() != 2) throw TemplateError(std::string(fn) + "(): sequence elements must have length 2");
        dict->Set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [k, v] : args.keyword) dict->Set(Value::Str(k), std::move(v));
  return Value::MakeDict(std::move(dict));
}

Value RaiseException(Interpreter&, CallArgs args) {
  std::string message = args.positional.empty() ? "" : args.positional[0].ToStr();
  throw TemplateError(message, TemplateError::Kind::kRaised);
}

Value StrftimeNow(Interpreter& in, CallArgs args) {
  BoundArgs a("strftime_now", std::move(args), {"format"});
  const std::string format = a.Str(0, "");
  if (format.size() > 256) throw TemplateError("strftime_now(): format longer than 256 bytes");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[1024];
  const size_t n = std::strftime(buf, sizeof(buf), format.c_str(), &local);
  return in.MakeString(std::string(buf, n));
}

}  // namespace

// ---- BoundArgs -------------------------------------------------------------------------------

BoundArgs::BoundArgs(std::string_view function, CallArgs args, std::initializer_list<std::string_view> params)
    : function_(function), names_(params), values_(params.size()), given_(params.size(), false) {
  if (args.positional.size() > params.size()) {
    throw TemplateError(function_ + "() takes at most " + std::to_string(params.size()) + " argument(s) (" +
                        std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) {
    values_[i] = std::move(args.positional[i]);
    given_[i] = true;
  }
  for (auto& [name, value] : args.keyword) {
    size_t i = 0;
    while (i < names_.size() && names_[i] != name) ++i;
    if (i == names_.size()) throw TemplateError(function_ + "() got an unexpected keyword argument '" + name + "'");
    if (given_[i]) throw TemplateError(function_ + "() got multiple values for argument '" + name + "'");
    values_[i] = std::move(value);
    given_[i] = true;
  }
}

int64_t BoundArgs::Int(size_t i, int64_t fallback) const {
  const Value* v = Get(i);
  if (v == nullptr || v->is_none()) return fallback;
  if (!v->is_int() && !v->is_bool()) {
    throw TemplateError(function_ + "(): argument '" + std::string(names_[i]) + "' must be an integer, not " + v->TypeName());
  }
  return v->int_value();
}

bool BoundArgs::Bool(size_t i, bool fallback) const {
  const Value* v = Get(i);
  return v == nullptr ? fallback : v->Truthy();
}

std::string BoundArgs::Str(size_t i, const std::string& fallback) const {
  const Value* v = Get(i);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    throw TemplateError(function_ + "(): argument '" + std::string(names_[i]) + "' must be str, not " + v->TypeName());
  }
  return v->str();
}

// ---- Lookup ----------------------------------------------------------------------------------

Value GetAttribute(const Value& obj, const std::string& name, bool python_only) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      ThrowUndefined(obj);
    case Value::Kind::kString:
      if (kStrMethods.count(name)) return Bind(obj, name);
      break;
    case Value::Kind::kList:
      if (kListMethods.count(name)) return Bind(obj, name);
      if (kListMutators.count(name)) return Unsafe(obj, name);
      break;
    case Value::Kind::kDict: {
      if (obj.dict().is_namespace) {
        const Value* v = obj.dict().Find(Value::Str(name));
        return v ? *v : Value::Undefined("'Namespace' object has no attribute '" + name + "'");
      }
      if (kDictMethods.count(name)) return Bind(obj, name);
      if (kDictMutators.count(name)) return Unsafe(obj, name);
      const Value* v = python_only ? nullptr : obj.dict().Find(Value::Str(name));
      if (v) return *v;
      break;
    }
    default:
      break;
  }
  return Value::Undefined(ObjectRepr(obj) + " has no attribute '" + name + "'");
}

Value GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) ThrowUndefined(obj);
  if (obj.is_dict() && !obj.dict().is_namespace && (key.is_string() || key.is_number() || key.is_none())) {
    const Value* v = obj.dict().Find(key);
    if (v) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const int64_t n = static_cast<int64_t>(obj.Length());
    int64_t i = key.int_value();
    if (i < 0) i += n;
    if (i >= 0 && i < n) {
      if (obj.is_list()) return obj.list().items[static_cast<size_t>(i)];
      return Value::Str(py::CodePoints(obj.str())[static_cast<size_t>(i)]);
    }
    return Value::Undefined(ObjectRepr(obj) + " has no element " + std::to_string(key.int_value()));
  }
  if (key.is_string()) return GetAttribute(obj, key.str());
  return Value::Undefined(ObjectRepr(obj) + " has no element " + key.Repr());
}

// ---- Tests -----------------------------------------------------------------------------------

namespace {
const std::unordered_set<std::string_view> kTests = {
    "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false",
    "mapping", "iterable", "sequence", "callable", "even", "odd", "divisibleby", "eq", "equalto", "==",
    "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas",
    "lower", "upper", "escaped", "filter", "test"};
}  // namespace

bool HasTest(std::string_view name) { return kTests.count(name) > 0; }

bool ApplyTest(Interpreter& in, std::string_view name, const Value& v, CallArgs args) {
  using K = Value::Kind;
  const std::string fn(name);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind() == K::kInt;
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.bool_value();
  if (name == "false") return v.is_bool() && !v.bool_value();
  if (name == "mapping") return v.is_dict() && !v.dict().is_namespace;
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.dict().is_namespace);
  if (name == "sequence") return v.is_string() || v.is_list() || (v.is_dict() && !v.dict().is_namespace);
  if (name == "callable") return v.is_callable();
  if (name == "escaped") return false;
  if (name == "lower") return v.ToStr() == py::Lower(v.ToStr());
  if (name == "upper") return v.ToStr() == py::Upper(v.ToStr());
  if (name == "filter") return v.is_string() && HasFilter(v.str());
  if (name == "test") return v.is_string() && HasTest(v.str());
  if (name == "even" || name == "odd") {
    if (v.is_undefined()) ThrowUndefined(v);
    if (!v.is_int() && !v.is_bool()) throw TemplateError("test '" + fn + "' needs an integer, not " + v.TypeName());
    const bool even = v.int_value() % 2 == 0;
    return name == "even" ? even : !even;
  }
  BoundArgs a(fn, std::move(args), {"other"});
  if (!a.Get(0)) throw TemplateError("test '" + fn + "' needs an argument");
  const Value& other = *a.Get(0);
  if (name == "divisibleby") {
    if (!v.is_int() && !v.is_bool()) throw TemplateError("test 'divisibleby' needs an integer, not " + v.TypeName());
    const int64_t d = IntArg(other, "divisibleby");
    if (d == 0) throw TemplateError("integer division or modulo by zero");
    return d == -1 || v.int_value() % d == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return Equals(v, other);
  if (name == "ne" || name == "!=") return !Equals(v, other);
  if (name == "sameas") {
    if (v.kind() != other.kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.is_bool()) return v.bool_value() == other.bool_value();
    if (v.is_list()) return &v.list() == &other.list();
    if (v.is_dict()) return &v.dict() == &other.dict();
    return Equals(v, other);
  }
  if (name == "in") {
    switch (other.kind()) {
      case K::kUndefined: return false;
      case K::kString:
        if (!v.is_string()) throw TemplateError("'in <string>' requires string as left operand, not " + v.TypeName());
        return other.str().find(v.str()) != std::string::npos;
      case K::kList:
        in.ChargeIterations(other.list().items.size());
        for (const Value& item : other.list().items) {
          if (Equals(item, v)) return true;
        }
        return false;
      case K::kDict:
        if (other.dict().is_namespace) break;
        return other.dict().Find(v) != nullptr;
      default: break;
    }
    throw TemplateError("argument of type '" + other.TypeName() + "' is not iterable");
  }
  // Ordering tests.
  if (v.is_undefined()) ThrowUndefined(v);
  if (other.is_undefined()) ThrowUndefined(other);
  const int c = Compare(v, other, name);
  if (name == "lt" || name == "lessthan" || name == "<") return c < 0;
  if (name == "le" || name == "<=") return c <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return c > 0;
  return c >= 0;
}

void InstallGlobals(Scope& globals) {
  auto add = [&](const char* name, Builtin::Fn fn) {
    globals.vars[name] = Value::MakeCallable(std::make_shared<Builtin>(name, fn));
  };
  add("range", Range);
  add("namespace", [](Interpreter&, CallArgs args) { return MakeNamespaceOrDict(std::move(args), true, "namespace"); });
  add("dict", [](Interpreter&, CallArgs args) { return MakeNamespaceOrDict(std::move(args), false, "dict"); });
  add("raise_exception", RaiseException);
  add("strftime_now", StrftimeNow);
}

}  // namespace dv::chat
