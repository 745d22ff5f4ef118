#include "engine/chat/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/utf8.h"
#include "engine/chat/pystring.h"

namespace dv::chat {
namespace {

std::string Tagged(char tag, std::string_view text) {
  std::string out(1, tag);
  out.append(text);
  return out;
}

// Python hashes 1, 1.0 and True alike; so do these keys.
std::string HashKey(const Value& key) {
  switch (key.kind()) {
    case Value::Kind::kString:
      return Tagged('s', key.str());
    case Value::Kind::kBool:
    case Value::Kind::kInt:
      return Tagged('n', std::to_string(key.int_value()));
    case Value::Kind::kFloat: {
      const double f = key.float_value();
      if (std::floor(f) == f && std::fabs(f) < 9.2e18) return Tagged('n', std::to_string(static_cast<int64_t>(f)));
      return Tagged('f', py::FloatRepr(f));
    }
    case Value::Kind::kNone:
      return "0";
    default:
      throw TemplateError("unhashable type: '" + key.TypeName() + "'");
  }
}

const std::string kComma = ",", kCommaSpace = ", ", kColonSpace = ": ";

void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (ensure_ascii && static_cast<unsigned char>(c) >= 0x80) {
      const utf8::Decoded d = utf8::DecodeAt(s, i);
      i += static_cast<size_t>(d.length) - 1;
      char buf[16];
      if (d.code_point >= 0x10000) {
        const uint32_t v = static_cast<uint32_t>(d.code_point) - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(d.code_point));
      }
      out += buf;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string JsonFloat(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f < 0 ? "-Infinity" : "Infinity";
  return py::FloatRepr(f);
}

std::string JsonKey(const Value& key) {
  switch (key.kind()) {
    case Value::Kind::kString: return key.str();
    case Value::Kind::kBool: return key.bool_value() ? "true" : "false";
    case Value::Kind::kInt: return std::to_string(key.int_value());
    case Value::Kind::kFloat: return JsonFloat(key.float_value());
    case Value::Kind::kNone: return "null";
    default: throw TemplateError("keys must be str, int, float, bool or None, not " + key.TypeName());
  }
}

void AppendJson(std::string& out, const Value& v, const Value::JsonOptions& opt, int level) {
  const int indent = opt.indent;
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(lvl), ' ');
  };
  const std::string& item_sep = !opt.item_separator.empty() ? opt.item_separator : (indent < 0 ? kCommaSpace : kComma);
  const std::string& key_sep = !opt.key_separator.empty() ? opt.key_separator : kColonSpace;
  if (level > 200) throw TemplateError("tojson: value nested too deeply");
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.bool_value() ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.int_value()); return;
    case Value::Kind::kFloat: out += JsonFloat(v.float_value()); return;
    case Value::Kind::kString: AppendJsonString(out, v.str(), opt.ensure_ascii); return;
    case Value::Kind::kList: {
      const auto& items = v.list().items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_sep;
        newline(level + 1);
        AppendJson(out, items[i], opt, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      std::vector<std::pair<std::string, const Value*>> entries;
      for (const auto& [k, val] : v.dict().entries()) entries.emplace_back(JsonKey(k), &val);
      if (entries.empty()) {
        out += "{}";
        return;
      }
      if (opt.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += item_sep;
        newline(level + 1);
        AppendJsonString(out, entries[i].first, opt.ensure_ascii);
        out += key_sep;
        AppendJson(out, *entries[i].second, opt, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    case Value::Kind::kUndefined:
      throw TemplateError("Object of type Undefined is not JSON serializable");
    case Value::Kind::kCallable:
      throw TemplateError("Object of type function is not JSON serializable");
  }
}

void AppendRepr(std::string& out, const Value& v, int level) {
  if (level > 200) throw TemplateError("value nested too deeply to print");
  switch (v.kind()) {
    case Value::Kind::kString:
      out += py::StrRepr(v.str());
      return;
    case Value::Kind::kList: {
      const ListData& l = v.list();
      out += l.is_tuple ? '(' : '[';
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i > 0) out += ", ";
        AppendRepr(out, l.items[i], level + 1);
      }
      if (l.is_tuple && l.items.size() == 1) out += ',';
      out += l.is_tuple ? ')' : ']';
      return;
    }
    case Value::Kind::kDict: {
      const DictData& d = v.dict();
      if (d.is_namespace) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& [k, val] : d.entries()) {
        if (!first) out += ", ";
        first = false;
        AppendRepr(out, k, level + 1);
        out += ": ";
        AppendRepr(out, val, level + 1);
      }
      out += '}';
      if (d.is_namespace) out += '>';
      return;
    }
    case Value::Kind::kUndefined:
      out += "Undefined";
      return;
    default:
      out += v.ToStr();
  }
}

}  // namespace

const Value* DictData::Find(const Value& key) const {
  const auto it = index_.find(HashKey(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void DictData::Set(const Value& key, Value value) {
  auto [it, inserted] = index_.emplace(HashKey(key), entries_.size());
  if (inserted) {
    entries_.emplace_back(key, std::move(value));
  } else {
    entries_[it->second].second = std::move(value);
  }
}

Value Value::Undefined(std::string hint) {
  Value v;
  v.text_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.scalar_ = b;
  return v;
}
Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.scalar_ = i;
  return v;
}
Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.scalar_ = f;
  return v;
}
Value Value::Str(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.text_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::MakeList(std::vector<Value> items, bool is_tuple) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<ListData>(ListData{std::move(items), is_tuple});
  return v;
}
Value Value::MakeDict(std::shared_ptr<DictData> dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::move(dict);
  return v;
}
Value Value::MakeCallable(std::shared_ptr<const Callable> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.fn_ = std::move(fn);
  return v;
}

Value Value::FromJson(const nlohmann::ordered_json& json) {
  using J = nlohmann::ordered_json::value_t;
  switch (json.type()) {
    case J::null: return None();
    case J::boolean: return Bool(json.get<bool>());
    case J::number_integer: return Int(json.get<int64_t>());
    case J::number_unsigned: {
      const uint64_t u = json.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw TemplateError("integer " + std::to_string(u) + " is too large (limit 2^63-1)");
      }
      return Int(static_cast<int64_t>(u));
    }
    case J::number_float: return Float(json.get<double>());
    case J::string: return Str(json.get<std::string>());
    case J::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(FromJson(item));
      return MakeList(std::move(items));
    }
    case J::object: {
      auto dict = std::make_shared<DictData>();
      for (const auto& [k, item] : json.items()) dict->Set(Str(k), FromJson(item));
      return MakeDict(std::move(dict));
    }
    default:
      throw TemplateError("unsupported JSON value (binary or discarded)");
  }
}

int64_t Value::int_value() const {
  if (kind_ == Kind::kBool) return std::get<bool>(scalar_) ? 1 : 0;
  return std::get<int64_t>(scalar_);
}

double Value::float_value() const {
  if (kind_ == Kind::kFloat) return std::get<double>(scalar_);
  return static_cast<double>(int_value());
}

const std::string& Value::undefined_hint() const {
  static const std::string kEmpty;
  return text_ ? *text_ : kEmpty;
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return bool_value();
    case Kind::kInt: return int_value() != 0;
    case Kind::kFloat: return float_value() != 0.0;
    case Kind::kString: return !text_->empty();
    case Kind::kList: return !list_->items.empty();
    case Kind::kDict: return dict_->is_namespace || dict_->size() > 0;
    case Kind::kCallable: return true;
  }
  return false;
}

std::string Value::ToStr() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return bool_value() ? "True" : "False";
    case Kind::kInt: return std::to_string(int_value());
    case Kind::kFloat: return py::FloatRepr(float_value());
    case Kind::kString: return *text_;
    case Kind::kCallable: return "<function " + fn_->name() + ">";
    default: return Repr();
  }
}

std::string Value::Repr() const {
  std::string out;
  AppendRepr(out, *this, 0);
  return out;
}

std::string Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return list_->is_tuple ? "tuple" : "list";
    case Kind::kDict: return dict_->is_namespace ? "Namespace" : "dict";
    case Kind::kCallable: return "function";
  }
  return "object";
}

size_t Value::Length() const {
  switch (kind_) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return py::Length(*text_);
    case Kind::kList: return list_->items.size();
    case Kind::kDict: return dict_->size();
    default: throw TemplateError("object of type '" + TypeName() + "' has no len()");
  }
}

std::vector<Value> Value::Iterate() const {
  std::vector<Value> out;
  switch (kind_) {
    case Kind::kUndefined: return out;
    case Kind::kString:
      for (std::string& cp : py::CodePoints(*text_)) out.push_back(Str(std::move(cp)));
      return out;
    case Kind::kList: return list_->items;
    case Kind::kDict:
      if (dict_->is_namespace) break;
      for (const auto& entry : dict_->entries()) out.push_back(entry.first);
      return out;
    default: break;
  }
  throw TemplateError("'" + TypeName() + "' object is not iterable");
}

std::string Value::ToJson(const JsonOptions& options) const {
  std::string out;
  AppendJson(out, *this, options, 0);
  return out;
}

bool Equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.float_value() == b.float_value();
    return a.int_value() == b.int_value();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.str() == b.str();
    case Value::Kind::kList: {
      const ListData &x = a.list(), &y = b.list();
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (!Equals(x.items[i], y.items[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const DictData &x = a.dict(), &y = b.dict();
      if (&x == &y) return true;
      if (x.is_namespace || y.is_namespace || x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.Find(k);
        if (other == nullptr || !Equals(v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kCallable: return a.callable_ptr() == b.callable_ptr();
    default: return false;
  }
}

int Compare(const Value& a, const Value& b, std::string_view op) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.float_value(), y = b.float_value();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const int64_t x = a.int_value(), y = b.int_value();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
    const auto &x = a.list().items, &y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!Equals(x[i], y[i])) return Compare(x[i], y[i], op);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  throw TemplateError("'" + std::string(op) + "' not supported between instances of '" + a.TypeName() +
                      "' and '" + b.TypeName() + "'");
}

}  // namespace dv::chat
