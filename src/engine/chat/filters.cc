// Jinja2's built-in filters (the subset chat templates use), plus HF's tojson.
#include <unicode/uchar.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <unordered_map>

#include "common/utf8.h"
#include "engine/chat/builtins.h"
#include "engine/chat/pystring.h"

namespace dv::chat {
namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs);

// Jinja's soft_str: strings stay, everything else goes through str().
std::string SoftStr(const Value& v) { return v.is_string() ? v.str() : v.ToStr(); }

// Jinja's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
Value GetPath(const Value& v, const std::string& path) {
  Value cur = v;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (cur.is_undefined()) return cur;
    cur = numeric ? GetItem(cur, Value::Int(std::strtoll(part.c_str(), nullptr, 10))) : GetItem(cur, Value::Str(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

std::vector<Value> Items(Interpreter& in, const Value& v) {
  std::vector<Value> items = v.Iterate();
  in.ChargeIterations(items.size());
  return items;
}

// Sort key used by sort/dictsort/unique/min/max: lower-cased strings unless case-sensitive.
Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::Str(py::Lower(v.str()));
  return v;
}

Value FTrim(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("trim", std::move(args), {"chars"});
  std::optional<std::string> chars;
  if (a.Get(0) && !a.Get(0)->is_none()) chars = a.Str(0, "");
  return in.MakeString(py::Strip(SoftStr(v), chars, py::StripSide::kBoth));
}

Value FLength(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("length", std::move(args), {});
  return Value::Int(static_cast<int64_t>(v.Length()));
}

Value FJoin(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("join", std::move(args), {"d", "attribute"});
  const std::string sep = a.Str(0, "");
  const Value* attribute = a.Get(1);
  std::string out;
  bool first = true;
  for (const Value& item : Items(in, v)) {
    if (!first) out += sep;
    first = false;
    out += SoftStr(attribute ? GetPath(item, attribute->ToStr()) : item);
    in.ChargeBytes(out.size() / 16);
  }
  return in.MakeString(std::move(out));
}

Value FToJson(Interpreter& in, const Value& v, CallArgs args) {
  // HF's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  BoundArgs a("tojson", std::move(args), {"ensure_ascii", "indent", "separators", "sort_keys"});
  Value::JsonOptions opt;
  opt.ensure_ascii = a.Bool(0, false);
  opt.indent = static_cast<int>(std::clamp<int64_t>(a.Int(1, -1), -1, 64));
  if (const Value* seps = a.Get(2); seps && !seps->is_none()) {
    const std::vector<Value> pair = seps->Iterate();
    if (pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      throw TemplateError("tojson(): separators must be an (item_separator, key_separator) pair of strings");
    }
    opt.item_separator = pair[0].str();
    opt.key_separator = pair[1].str();
  }
  opt.sort_keys = a.Bool(3, false);
  return in.MakeString(v.ToJson(opt));
}

Value FDefault(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("default", std::move(args), {"default_value", "boolean"});
  const bool use_default = v.is_undefined() || (a.Bool(1, false) && !v.Truthy());
  return use_default ? a.GetOr(0, Value::Str("")) : v;
}

Value FFirst(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("first", std::move(args), {});
  const std::vector<Value> items = Items(in, v);
  return items.empty() ? Value::Undefined("No first item, sequence was empty.") : items.front();
}

Value FLast(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("last", std::move(args), {});
  const std::vector<Value> items = Items(in, v);
  return items.empty() ? Value::Undefined("No last item, sequence was empty.") : items.back();
}

Value FList(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("list", std::move(args), {});
  return Value::MakeList(Items(in, v));
}

// select/reject and selectattr/rejectattr: keep items whose (attribute's) test result == keep.
Value SelectImpl(Interpreter& in, const Value& v, CallArgs args, bool by_attribute, bool keep) {
  std::vector<Value>& pos = args.positional;
  std::string attribute;
  if (by_attribute) {
    if (pos.empty() || !pos[0].is_string()) throw TemplateError("selectattr/rejectattr need an attribute name");
    attribute = pos[0].str();
    pos.erase(pos.begin());
  }
  std::string test;
  if (!pos.empty()) {
    if (!pos[0].is_string()) throw TemplateError("select/reject: the test name must be a string");
    test = pos[0].str();
    pos.erase(pos.begin());
    if (!HasTest(test)) throw TemplateError("No test named '" + test + "'.");
  }
  std::vector<Value> out;
  for (const Value& item : Items(in, v)) {
    const Value subject = by_attribute ? GetPath(item, attribute) : item;
    const bool r = test.empty() ? subject.Truthy() : ApplyTest(in, test, subject, CallArgs{pos, args.keyword});
    if (r == keep) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

Value FSelect(Interpreter& in, const Value& v, CallArgs args) { return SelectImpl(in, v, std::move(args), false, true); }
Value FReject(Interpreter& in, const Value& v, CallArgs args) { return SelectImpl(in, v, std::move(args), false, false); }
Value FSelectAttr(Interpreter& in, const Value& v, CallArgs args) { return SelectImpl(in, v, std::move(args), true, true); }
Value FRejectAttr(Interpreter& in, const Value& v, CallArgs args) { return SelectImpl(in, v, std::move(args), true, false); }

Value FMap(Interpreter& in, const Value& v, CallArgs args) {
  std::vector<Value> out;
  std::optional<std::string> attribute;
  Value fallback;
  for (auto it = args.keyword.begin(); it != args.keyword.end();) {
    if (it->first == "attribute") {
      attribute = it->second.ToStr();
      it = args.keyword.erase(it);
    } else if (it->first == "default") {
      fallback = it->second;
      it = args.keyword.erase(it);
    } else {
      ++it;
    }
  }
  if (attribute) {
    for (const Value& item : Items(in, v)) {
      Value x = GetPath(item, *attribute);
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return Value::MakeList(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) {
    throw TemplateError("map() needs a filter name or attribute=");
  }
  const std::string filter = args.positional[0].str();
  if (!HasFilter(filter)) throw TemplateError("No filter named '" + filter + "'.");
  args.positional.erase(args.positional.begin());
  for (const Value& item : Items(in, v)) out.push_back(ApplyFilter(in, filter, item, args));
  return Value::MakeList(std::move(out));
}

Value FSafe(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("safe", std::move(args), {});
  return v.is_string() ? v : in.MakeString(v.ToStr());
}

Value FString(Interpreter& in, const Value& v, CallArgs args) { return FSafe(in, v, std::move(args)); }

// Python int(str): optional sign, digits with single underscores, surrounding whitespace.
std::optional<int64_t> ParseInt(const std::string& text, int base) {
  std::string s = py::Strip(text, std::nullopt, py::StripSide::kBoth);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, base);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseFloat(const std::string& text) {
  const std::string s = py::Strip(text, std::nullopt, py::StripSide::kBoth);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

Value FInt(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("int", std::move(args), {"default", "base"});
  const int64_t fallback = a.Int(0, 0);
  const int64_t base = a.Int(1, 10);
  if (base < 2 || base > 36) throw TemplateError("int(): base must be between 2 and 36");
  if (v.is_int() || v.is_bool()) return Value::Int(v.int_value());
  if (v.is_float()) {
    const double f = v.float_value();
    if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) return Value::Int(fallback);
    return Value::Int(static_cast<int64_t>(f));
  }
  if (v.is_string()) {
    if (auto i = ParseInt(v.str(), static_cast<int>(base))) return Value::Int(*i);
    if (auto f = ParseFloat(v.str()); f && std::isfinite(*f) && std::fabs(*f) < 9.2e18) {
      return Value::Int(static_cast<int64_t>(*f));
    }
  }
  return Value::Int(fallback);
}

Value FFloat(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("float", std::move(args), {"default"});
  if (v.is_number()) return Value::Float(v.float_value());
  if (v.is_string()) {
    if (auto f = ParseFloat(v.str())) return Value::Float(*f);
  }
  const Value* fallback = a.Get(0);
  return fallback ? *fallback : Value::Float(0.0);
}

Value FUpper(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("upper", std::move(args), {});
  return in.MakeString(py::Upper(SoftStr(v)));
}
Value FLower(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("lower", std::move(args), {});
  return in.MakeString(py::Lower(SoftStr(v)));
}
Value FCapitalize(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("capitalize", std::move(args), {});
  return in.MakeString(py::Capitalize(SoftStr(v)));
}

// Jinja's title filter: split on runs of [-\s({[<], upper-case the first code point of every
// piece and lower-case the rest.
Value FTitle(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("title", std::move(args), {});
  const std::string s = SoftStr(v);
  auto is_sep = [](const std::string& cp) {
    const char32_t c = utf8::DecodeAt(cp, 0).code_point;
    return py::IsSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
  };
  std::string out, piece;
  bool piece_is_sep = false;
  auto flush = [&] {
    if (piece.empty()) return;
    const std::vector<std::string> cps = py::CodePoints(piece);
    out += py::Upper(cps[0]);
    out += py::Lower(std::string_view(piece).substr(cps[0].size()));
    piece.clear();
  };
  for (const std::string& cp : py::CodePoints(s)) {
    const bool sep = is_sep(cp);
    if (sep != piece_is_sep) flush();
    piece_is_sep = sep;
    piece += cp;
  }
  flush();
  return in.MakeString(std::move(out));
}

Value FReplace(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("replace", std::move(args), {"old", "new", "count"});
  if (!a.Get(0) || !a.Get(1)) throw TemplateError("replace() takes at least 2 arguments");
  return ReplaceBounded(in, SoftStr(v), SoftStr(*a.Get(0)), SoftStr(*a.Get(1)), a.Int(2, -1));
}

Value FItems(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("items", std::move(args), {});
  if (v.is_undefined()) return Value::MakeList({});
  if (!v.is_dict() || v.dict().is_namespace) throw TemplateError("items filter: can only get item pairs from a mapping");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict().entries()) out.push_back(Value::MakeList({k, val}, true));
  in.ChargeIterations(out.size());
  return Value::MakeList(std::move(out));
}

void StableSortValues(std::vector<Value>& items, const std::function<Value(const Value&)>& key, bool reverse) {
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    const int c = Compare(key(x), key(y), "<");
    return reverse ? c > 0 : c < 0;
  });
}

Value FDictSort(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("dictsort", std::move(args), {"case_sensitive", "by", "reverse"});
  if (!v.is_dict() || v.dict().is_namespace) throw TemplateError("dictsort: can only sort a mapping, not " + v.TypeName());
  const bool cs = a.Bool(0, false);
  const std::string by = a.Str(1, "key");
  if (by != "key" && by != "value") throw TemplateError("dictsort: 'by' must be 'key' or 'value'");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict().entries()) pairs.push_back(Value::MakeList({k, val}, true));
  in.ChargeIterations(pairs.size());
  const size_t idx = by == "key" ? 0 : 1;
  StableSortValues(pairs, [&](const Value& p) { return SortKey(p.list().items[idx], cs); }, a.Bool(2, false));
  return Value::MakeList(std::move(pairs));
}

Value FSort(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("sort", std::move(args), {"reverse", "case_sensitive", "attribute"});
  std::vector<Value> items = Items(in, v);
  const bool cs = a.Bool(1, false);
  const Value* attribute = a.Get(2);
  StableSortValues(
      items, [&](const Value& x) { return SortKey(attribute ? GetPath(x, attribute->ToStr()) : x, cs); }, a.Bool(0, false));
  return Value::MakeList(std::move(items));
}

Value FUnique(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("unique", std::move(args), {"case_sensitive", "attribute"});
  const bool cs = a.Bool(0, false);
  const Value* attribute = a.Get(1);
  std::vector<Value> out, seen;
  for (const Value& item : Items(in, v)) {
    const Value key = SortKey(attribute ? GetPath(item, attribute->ToStr()) : item, cs);
    bool dup = false;
    for (const Value& s : seen) dup = dup || Equals(s, key);
    in.ChargeIterations(seen.size());
    if (!dup) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::MakeList(std::move(out));
}

Value MinMax(Interpreter& in, const Value& v, CallArgs args, bool want_max) {
  BoundArgs a(want_max ? "max" : "min", std::move(args), {"case_sensitive", "attribute"});
  const bool cs = a.Bool(0, false);
  const Value* attribute = a.Get(1);
  const std::vector<Value> items = Items(in, v);
  if (items.empty()) return Value::Undefined(std::string("No aggregated item, sequence was empty."));
  auto key = [&](const Value& x) { return SortKey(attribute ? GetPath(x, attribute->ToStr()) : x, cs); };
  const Value* best = &items[0];
  for (const Value& item : items) {
    const int c = Compare(key(item), key(*best), "<");
    if (want_max ? c > 0 : c < 0) best = &item;
  }
  return *best;
}
Value FMin(Interpreter& in, const Value& v, CallArgs args) { return MinMax(in, v, std::move(args), false); }
Value FMax(Interpreter& in, const Value& v, CallArgs args) { return MinMax(in, v, std::move(args), true); }

Value FSum(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("sum", std::move(args), {"attribute", "start"});
  const Value* attribute = a.Get(0);
  Value total = a.GetOr(1, Value::Int(0));
  for (const Value& item : Items(in, v)) {
    const Value x = attribute ? GetPath(item, attribute->ToStr()) : item;
    if (!x.is_number() || !total.is_number()) {
      throw TemplateError("unsupported operand type(s) for +: '" + total.TypeName() + "' and '" + x.TypeName() + "'");
    }
    if (x.is_float() || total.is_float()) {
      total = Value::Float(total.float_value() + x.float_value());
    } else {
      int64_t r;
      if (__builtin_add_overflow(total.int_value(), x.int_value(), &r)) throw TemplateError("integer overflow in sum");
      total = Value::Int(r);
    }
  }
  return total;
}

Value FAbs(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("abs", std::move(args), {});
  if (v.is_float()) return Value::Float(std::fabs(v.float_value()));
  if (v.is_int() || v.is_bool()) {
    if (v.int_value() == INT64_MIN) throw TemplateError("integer overflow in abs");
    return Value::Int(std::llabs(v.int_value()));
  }
  throw TemplateError("bad operand type for abs(): '" + v.TypeName() + "'");
}

Value FRound(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("round", std::move(args), {"precision", "method"});
  if (!v.is_number()) throw TemplateError("round: expected a number, not " + v.TypeName());
  const int64_t precision = std::clamp<int64_t>(a.Int(0, 0), 0, 15);
  const std::string method = a.Str(1, "common");
  const double x = v.float_value();
  if (method == "ceil" || method == "floor") {
    const double scale = std::pow(10.0, static_cast<double>(precision));
    return Value::Float((method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale);
  }
  if (method != "common") throw TemplateError("round: method must be 'common', 'ceil' or 'floor'");
  if (!v.is_float()) return Value::Int(v.int_value());  // Python's round(int, n) stays an int
  if (!std::isfinite(x)) return Value::Float(x);
  // Python's round(): the exact binary value rounded half-to-even at `precision` decimals,
  // which is what glibc's printf does.
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), x);
  return Value::Float(std::strtod(buf, nullptr));
}

Value FReverse(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("reverse", std::move(args), {});
  if (v.is_string()) {
    std::vector<std::string> cps = py::CodePoints(v.str());
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
    return in.MakeString(std::move(out));
  }
  std::vector<Value> items = Items(in, v);
  std::reverse(items.begin(), items.end());
  return Value::MakeList(std::move(items));
}

Value FIndent(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("indent", std::move(args), {"width", "first", "blank"});
  std::string indentation;
  if (const Value* w = a.Get(0); w && w->is_string()) {
    indentation = w->str();
  } else {
    indentation.assign(static_cast<size_t>(std::clamp<int64_t>(a.Int(0, 4), 0, 256)), ' ');
  }
  const std::string s = SoftStr(v) + "\n";  // Jinja appends a newline before splitlines()
  std::vector<std::string> lines = py::SplitLines(s);
  std::string out;
  if (a.Bool(2, false)) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n" + indentation;
      out += lines[i];
    }
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n" + (lines[i].empty() ? std::string() : indentation);
      out += lines[i];
      in.ChargeBytes(indentation.size());
    }
  }
  if (a.Bool(1, false)) out = indentation + out;
  return in.MakeString(std::move(out));
}

Value FEscape(Interpreter& in, const Value& v, CallArgs args) {
  BoundArgs a("escape", std::move(args), {});
  std::string out;
  for (const char c : SoftStr(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return in.MakeString(std::move(out));
}

Value FWordCount(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("wordcount", std::move(args), {});
  int64_t words = 0;
  bool in_word = false;
  for (const std::string& cp : py::CodePoints(SoftStr(v))) {
    const UChar32 c = static_cast<UChar32>(utf8::DecodeAt(cp, 0).code_point);
    const bool word_char = u_isalnum(c) || c == '_' || u_hasBinaryProperty(c, UCHAR_ALPHABETIC);
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return Value::Int(words);
}

Value FAttr(Interpreter&, const Value& v, CallArgs args) {
  BoundArgs a("attr", std::move(args), {"name"});
  return GetAttribute(v, a.Str(0, ""), /*python_only=*/true);
}

const std::unordered_map<std::string_view, FilterFn>& Filters() {
  static const auto* filters = new std::unordered_map<std::string_view, FilterFn>{
      {"trim", FTrim},         {"length", FLength},       {"count", FLength},        {"join", FJoin},
      {"tojson", FToJson},     {"default", FDefault},     {"d", FDefault},           {"first", FFirst},
      {"last", FLast},         {"list", FList},           {"select", FSelect},       {"reject", FReject},
      {"selectattr", FSelectAttr}, {"rejectattr", FRejectAttr}, {"map", FMap},      {"safe", FSafe},
      {"string", FString},     {"int", FInt},             {"float", FFloat},         {"upper", FUpper},
      {"lower", FLower},       {"capitalize", FCapitalize}, {"title", FTitle},       {"replace", FReplace},
      {"items", FItems},       {"dictsort", FDictSort},   {"sort", FSort},           {"unique", FUnique},
      {"min", FMin},           {"max", FMax},             {"sum", FSum},             {"abs", FAbs},
      {"round", FRound},       {"reverse", FReverse},     {"indent", FIndent},       {"escape", FEscape},
      {"e", FEscape},          {"wordcount", FWordCount}, {"attr", FAttr},
  };
  return *filters;
}

}  // namespace

Value ReplaceBounded(Interpreter& in, const std::string& s, const std::string& old, const std::string& repl,
                     int64_t count) {
  // Size the result before building it: an empty `old` inserts `repl` at every position.
  uint64_t hits = 0;
  if (old.empty()) {
    hits = py::Length(s) + 1;
  } else {
    for (size_t p = s.find(old); p != std::string::npos; p = s.find(old, p + old.size())) ++hits;
  }
  if (count >= 0) hits = std::min<uint64_t>(hits, static_cast<uint64_t>(count));
  const long double size = static_cast<long double>(s.size()) +
                           static_cast<long double>(hits) *
                               (static_cast<long double>(repl.size()) - static_cast<long double>(old.size()));
  in.ChargeBytes(size > static_cast<long double>(SIZE_MAX / 2) ? SIZE_MAX : static_cast<size_t>(size));
  return Value::Str(py::Replace(s, old, repl, count));
}

bool HasFilter(std::string_view name) { return Filters().count(name) > 0; }

Value ApplyFilter(Interpreter& in, std::string_view name, const Value& operand, CallArgs args) {
  const auto it = Filters().find(name);
  if (it == Filters().end()) throw TemplateError("No filter named '" + std::string(name) + "'.");
  return it->second(in, operand, std::move(args));
}

}  // namespace dv::chat
