#include "engine/chat/interpreter.h"

#include <cmath>
#include <limits>

#include "engine/chat/builtins.h"
#include "engine/chat/pystring.h"

namespace dv::chat {
namespace {

[[noreturn]] void Limit(const std::string& what) { throw TemplateError(what, TemplateError::Kind::kLimit); }

[[noreturn]] void Unsupported(std::string_view op, const Value& a, const Value& b) {
  throw TemplateError("unsupported operand type(s) for " + std::string(op) + ": '" + a.TypeName() + "' and '" +
                      b.TypeName() + "'");
}

[[noreturn]] void Overflow() { throw TemplateError("integer overflow (deepvault integers are 64-bit)"); }

int64_t AddInt(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) Overflow();
  return r;
}
int64_t SubInt(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) Overflow();
  return r;
}
int64_t MulInt(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) Overflow();
  return r;
}

// A macro: a body with parameters, closing over the frame it was defined in.
class Macro : public Callable {
 public:
  Macro(const Stmt& def, std::shared_ptr<Scope> closure, std::string name)
      : def_(def), closure_(std::move(closure)), name_(std::move(name)) {}

  std::string name() const override { return name_; }

  Value Call(Interpreter& in, CallArgs args) const override {
    if (++in.call_depth() > in.limits().max_call_depth) {
      Limit("macro calls nested deeper than " + std::to_string(in.limits().max_call_depth) + " (runaway recursion?)");
    }
    struct Restore {
      Interpreter& in;
      ~Restore() { --in.call_depth(); }
    } restore{in};
    auto scope = std::make_shared<Scope>(closure_);
    const auto& params = def_.params;
    std::vector<Value> varargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < params.size()) {
        scope->vars[params[i].name] = std::move(args.positional[i]);
      } else {
        varargs.push_back(std::move(args.positional[i]));
      }
    }
    auto kwargs = std::make_shared<DictData>();
    for (auto& [name, value] : args.keyword) {
      bool is_param = false;
      for (const MacroParam& p : params) is_param = is_param || p.name == name;
      if (is_param) {
        if (scope->vars.count(name)) throw TemplateError("macro '" + name_ + "' got multiple values for argument '" + name + "'");
        scope->vars[name] = std::move(value);
      } else if (name == "caller") {
        scope->vars["caller"] = std::move(value);
      } else {
        kwargs->Set(Value::Str(name), std::move(value));
      }
    }
    scope->vars["varargs"] = Value::MakeList(std::move(varargs), /*is_tuple=*/true);
    scope->vars["kwargs"] = Value::MakeDict(std::move(kwargs));
    std::vector<const MacroParam*> missing;
    for (const MacroParam& p : params) {
      if (!scope->vars.count(p.name)) missing.push_back(&p);
    }
    // Defaults are evaluated in the macro's frame, so a default may use earlier parameters.
    for (const MacroParam* p : missing) {
      scope->vars[p->name] = p->default_value ? in.EvalIn(*p->default_value, scope)
                                              : Value::Undefined("parameter '" + p->name + "' was not provided");
    }
    return in.MakeString(in.RenderMacroBody(def_.body, scope));
  }

 private:
  const Stmt& def_;
  std::shared_ptr<Scope> closure_;
  std::string name_;
};

}  // namespace

// ---- Scope ---------------------------------------------------------------------------------

const Value* Scope::Lookup(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

void ThrowUndefined(const Value& v) {
  const std::string& hint = v.undefined_hint();
  throw TemplateError(hint.empty() ? "value is undefined" : hint);
}

// ---- Interpreter ---------------------------------------------------------------------------

class Interpreter::DepthGuard {
 public:
  explicit DepthGuard(Interpreter& in) : in_(in) {
    if (++in_.eval_depth_ > in_.limits_.max_eval_depth) {
      Limit("evaluation nested deeper than " + std::to_string(in_.limits_.max_eval_depth) + " levels");
    }
  }
  ~DepthGuard() { --in_.eval_depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  Interpreter& in_;
};

// Frames are cleared when their block ends: a macro holds the frame it was defined in and the
// frame holds the macro, so clearing breaks that reference cycle. (A macro that escapes its frame,
// e.g. stored in a namespace, then sees only the frames around it.)
struct ScopeExit {
  Scope& scope;
  ~ScopeExit() { scope.vars.clear(); }
};

Interpreter::Interpreter(const RenderLimits& limits, std::shared_ptr<Scope> globals)
    : limits_(limits), scope_(std::make_shared<Scope>(std::move(globals))) {}

Interpreter::~Interpreter() { scope_->vars.clear(); }

std::string Interpreter::Render(const Body& body) {
  std::string out;
  out_ = &out;
  try {
    ExecBody(body);
  } catch (const TemplateError& e) {
    if (e.kind() != TemplateError::Kind::kInvalid) throw;
    throw TemplateError("chat template error at line " + std::to_string(line_) + ": " + e.message());
  }
  return out;
}

void Interpreter::Step() {
  if (++steps_ > limits_.max_steps) {
    Limit("template evaluation exceeded " + std::to_string(limits_.max_steps) + " steps");
  }
}

void Interpreter::ChargeBytes(size_t n) {
  if (n > limits_.max_output_bytes) {
    Limit("a string of " + std::to_string(n) + " bytes exceeds the limit of " +
          std::to_string(limits_.max_output_bytes) + " bytes");
  }
  work_bytes_ += n;
  if (work_bytes_ > limits_.max_work_bytes) {
    Limit("template built more than " + std::to_string(limits_.max_work_bytes) + " bytes of text");
  }
}

void Interpreter::ChargeIterations(uint64_t n) {
  loop_iterations_ += n;
  if (n > limits_.max_loop_iterations || loop_iterations_ > limits_.max_loop_iterations) {
    Limit("template exceeded " + std::to_string(limits_.max_loop_iterations) + " loop iterations");
  }
}

Value Interpreter::MakeString(std::string s) {
  ChargeBytes(s.size());
  return Value::Str(std::move(s));
}

void Interpreter::Write(std::string_view text) {
  ChargeBytes(text.size());
  if (out_->size() + text.size() > limits_.max_output_bytes) {
    Limit("rendered output exceeds the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  out_->append(text);
}

std::string Interpreter::Capture(const Body& body, std::shared_ptr<Scope> scope) {
  std::string buffer;
  std::string* saved_out = out_;
  std::shared_ptr<Scope> saved_scope = scope_;
  out_ = &buffer;
  scope_ = std::move(scope);
  struct Restore {
    Interpreter& in;
    std::string* out;
    std::shared_ptr<Scope> scope;
    ~Restore() {
      in.out_ = out;
      in.scope_ = std::move(scope);
    }
  } restore{*this, saved_out, std::move(saved_scope)};
  ExecBody(body);
  return buffer;
}

std::string Interpreter::RenderMacroBody(const Body& body, std::shared_ptr<Scope> scope) {
  ScopeExit exit{*scope};
  return Capture(body, scope);
}

Value Interpreter::EvalIn(const Expr& expr, std::shared_ptr<Scope> scope) {
  std::shared_ptr<Scope> saved = scope_;
  scope_ = std::move(scope);
  struct Restore {
    Interpreter& in;
    std::shared_ptr<Scope> scope;
    ~Restore() { in.scope_ = std::move(scope); }
  } restore{*this, std::move(saved)};
  return Eval(expr);
}

Interpreter::Flow Interpreter::ExecBody(const Body& body) {
  for (const StmtPtr& s : body) {
    const Flow f = Exec(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::Exec(const Stmt& s) {
  DepthGuard guard(*this);
  Step();
  line_ = s.line;
  switch (s.kind) {
    case StmtKind::kText:
      Write(s.text);
      return Flow::kNormal;
    case StmtKind::kPrint: {
      const Value v = Eval(*s.expr);
      if (v.is_string()) {
        Write(v.str());
      } else {
        Write(v.ToStr());
      }
      return Flow::kNormal;
    }
    case StmtKind::kIf:
      for (size_t i = 0; i < s.conditions.size(); ++i) {
        if (Eval(*s.conditions[i]).Truthy()) return ExecBody(s.bodies[i]);
      }
      return ExecBody(s.else_body);
    case StmtKind::kFor:
      return ExecFor(s);
    case StmtKind::kSet:
      Assign(s.target, Eval(*s.expr), s.line);
      return Flow::kNormal;
    case StmtKind::kSetBlock:
    case StmtKind::kFilterBlock: {
      Value v = MakeString(Capture(s.body, scope_));
      for (const ExprPtr& f : s.filters) v = EvalFilter(*f, std::move(v));
      if (s.kind == StmtKind::kSetBlock) {
        Assign(s.target, v, s.line);
      } else {
        Write(v.ToStr());
      }
      return Flow::kNormal;
    }
    case StmtKind::kMacro:
      scope_->vars[s.text] = Value::MakeCallable(std::make_shared<Macro>(s, scope_, s.text));
      return Flow::kNormal;
    case StmtKind::kCallBlock:
      ExecCallBlock(s);
      return Flow::kNormal;
    case StmtKind::kWith: {
      auto scope = std::make_shared<Scope>(scope_);
      ScopeExit exit{*scope};
      for (const auto& [target, expr] : s.assignments) {
        const Value v = Eval(*expr);
        if (target.is_tuple) throw TemplateError("tuple targets in 'with' are not supported");
        scope->vars[target.names[0]] = v;
      }
      Write(Capture(s.body, scope));
      return Flow::kNormal;
    }
    case StmtKind::kScope:
      return ExecBody(s.body);
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

void Interpreter::Assign(const Target& target, const Value& value, int line) {
  (void)line;
  if (!target.attribute.empty()) {
    const Value* ns = scope_->Lookup(target.names[0]);
    if (ns == nullptr || !ns->is_dict() || !ns->dict().is_namespace) {
      throw TemplateError("cannot assign attribute on non-namespace object");
    }
    ns->dict().Set(Value::Str(target.attribute), value);
    return;
  }
  if (!target.is_tuple) {
    scope_->vars[target.names[0]] = value;
    return;
  }
  const std::vector<Value> items = value.Iterate();
  if (items.size() != target.names.size()) {
    throw TemplateError(items.size() < target.names.size()
                            ? "not enough values to unpack (expected " + std::to_string(target.names.size()) +
                                  ", got " + std::to_string(items.size()) + ")"
                            : "too many values to unpack (expected " + std::to_string(target.names.size()) + ")");
  }
  for (size_t i = 0; i < items.size(); ++i) scope_->vars[target.names[i]] = items[i];
}

Interpreter::Flow Interpreter::ExecFor(const Stmt& s) {
  std::vector<Value> items = Eval(*s.expr).Iterate();
  std::shared_ptr<Scope> outer = scope_;
  struct Restore {
    Interpreter& in;
    std::shared_ptr<Scope> scope;
    ~Restore() { in.scope_ = std::move(scope); }
  } restore{*this, outer};

  if (s.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      ChargeIterations(1);
      scope_ = std::make_shared<Scope>(outer);
      Assign(s.target, item, s.line);
      if (Eval(*s.filter).Truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  // One `loop` object per for-loop, advanced in place, as Jinja's LoopContext is.
  auto loop = std::make_shared<DictData>();
  const Value loop_value = Value::MakeDict(loop);
  static const Value kIndex = Value::Str("index"), kIndex0 = Value::Str("index0"), kRevindex = Value::Str("revindex"),
                     kRevindex0 = Value::Str("revindex0"), kFirst = Value::Str("first"), kLast = Value::Str("last"),
                     kLength = Value::Str("length"), kDepth = Value::Str("depth"), kDepth0 = Value::Str("depth0"),
                     kPrevitem = Value::Str("previtem"), kNextitem = Value::Str("nextitem");
  loop->Set(kLength, Value::Int(n));
  loop->Set(kDepth, Value::Int(1));
  loop->Set(kDepth0, Value::Int(0));
  for (int64_t i = 0; i < n; ++i) {
    ChargeIterations(1);
    Step();
    scope_ = std::make_shared<Scope>(outer);
    ScopeExit exit{*scope_};
    Assign(s.target, items[static_cast<size_t>(i)], s.line);
    loop->Set(kIndex, Value::Int(i + 1));
    loop->Set(kIndex0, Value::Int(i));
    loop->Set(kRevindex, Value::Int(n - i));
    loop->Set(kRevindex0, Value::Int(n - i - 1));
    loop->Set(kFirst, Value::Bool(i == 0));
    loop->Set(kLast, Value::Bool(i == n - 1));
    loop->Set(kPrevitem, i > 0 ? items[static_cast<size_t>(i - 1)] : Value::Undefined("there is no previous item"));
    loop->Set(kNextitem, i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::Undefined("there is no next item"));
    scope_->vars["loop"] = loop_value;
    if (ExecBody(s.body) == Flow::kBreak) break;
  }
  if (n == 0) {
    scope_ = std::make_shared<Scope>(outer);
    return ExecBody(s.else_body);
  }
  return Flow::kNormal;
}

void Interpreter::ExecCallBlock(const Stmt& s) {
  // `caller` is a macro whose body is the call block's body, closing over the current frame.
  const Expr& call = *s.expr;
  Value callee = Eval(*call.a);
  CallArgs args = EvalArgs(call);
  args.keyword.emplace_back("caller", Value::MakeCallable(std::make_shared<Macro>(s, scope_, "caller")));
  const Value result = Call(callee, std::move(args));
  Write(result.ToStr());
}

Value Interpreter::Call(const Value& callee, CallArgs args) {
  if (callee.is_undefined()) ThrowUndefined(callee);
  if (!callee.is_callable()) throw TemplateError("'" + callee.TypeName() + "' object is not callable");
  return callee.callable().Call(*this, std::move(args));
}

CallArgs Interpreter::EvalArgs(const Expr& e) {
  CallArgs args;
  for (const ExprPtr& a : e.items) args.positional.push_back(Eval(*a));
  for (const auto& [name, expr] : e.kwargs) args.keyword.emplace_back(name, Eval(*expr));
  return args;
}

Value Interpreter::EvalFilter(const Expr& e, Value operand) {
  CallArgs args = EvalArgs(e);
  return ApplyFilter(*this, e.name, operand, std::move(args));
}

Value Interpreter::Eval(const Expr& e) {
  DepthGuard guard(*this);
  Step();
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.value;
    case ExprKind::kName: {
      const Value* v = scope_->Lookup(e.name);
      return v ? *v : Value::Undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::kList: {
      std::vector<Value> items;
      items.reserve(e.items.size());
      for (const ExprPtr& item : e.items) items.push_back(Eval(*item));
      return Value::MakeList(std::move(items), e.is_tuple);
    }
    case ExprKind::kDict: {
      auto dict = std::make_shared<DictData>();
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value key = Eval(*e.items[i]);
        dict->Set(key, Eval(*e.items[i + 1]));
      }
      return Value::MakeDict(std::move(dict));
    }
    case ExprKind::kGetAttr:
      return GetAttribute(Eval(*e.a), e.name);
    case ExprKind::kGetItem: {
      const Value obj = Eval(*e.a);
      return GetItem(obj, Eval(*e.b));
    }
    case ExprKind::kSlice:
      return EvalSlice(e);
    case ExprKind::kCall:
      return EvalCall(e);
    case ExprKind::kFilter:
      return EvalFilter(e, Eval(*e.a));
    case ExprKind::kTest: {
      const Value operand = Eval(*e.a);
      const bool r = ApplyTest(*this, e.name, operand, EvalArgs(e));
      return Value::Bool(r != e.negated);
    }
    case ExprKind::kUnary: {
      const Value v = Eval(*e.a);
      if (e.name == "not") return Value::Bool(!v.Truthy());
      if (v.is_undefined()) ThrowUndefined(v);
      if (!v.is_number()) throw TemplateError("bad operand type for unary " + e.name + ": '" + v.TypeName() + "'");
      if (e.name == "+") return v.is_float() ? v : Value::Int(v.int_value());
      if (v.is_float()) return Value::Float(-v.float_value());
      if (v.int_value() == std::numeric_limits<int64_t>::min()) Overflow();
      return Value::Int(-v.int_value());
    }
    case ExprKind::kBinary:
      return EvalBinary(e);
    case ExprKind::kCompare:
      return EvalCompare(e);
    case ExprKind::kCondition:
      if (Eval(*e.a).Truthy()) return Eval(*e.b);
      return e.c ? Eval(*e.c) : Value::Undefined("the inline if-expression evaluated to false and has no else");
  }
  return Value();
}

Value Interpreter::EvalCall(const Expr& e) {
  const Value callee = Eval(*e.a);
  return Call(callee, EvalArgs(e));
}

Value Interpreter::EvalSlice(const Expr& e) {
  const Value obj = Eval(*e.items[0]);
  auto bound = [&](const ExprPtr& p) -> std::optional<int64_t> {
    if (!p) return std::nullopt;
    const Value v = Eval(*p);
    if (v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) throw TemplateError("slice indices must be integers or None");
    return v.int_value();
  };
  const std::optional<int64_t> start = bound(e.a), stop = bound(e.b), step = bound(e.c);
  if (step && *step == 0) throw TemplateError("slice step cannot be zero");
  if (obj.is_undefined()) ThrowUndefined(obj);
  if (obj.is_string()) {
    const std::vector<std::string> cps = py::CodePoints(obj.str());
    std::string out;
    for (size_t i : py::SliceIndices(cps.size(), start, stop, step.value_or(1))) out += cps[i];
    return MakeString(std::move(out));
  }
  if (obj.is_list()) {
    std::vector<Value> out;
    const auto& items = obj.list().items;
    for (size_t i : py::SliceIndices(items.size(), start, stop, step.value_or(1))) out.push_back(items[i]);
    return Value::MakeList(std::move(out), obj.list().is_tuple);
  }
  throw TemplateError("'" + obj.TypeName() + "' object is not subscriptable");
}

Value Interpreter::EvalCompare(const Expr& e) {
  Value left = Eval(*e.a);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = Eval(*e.items[i]);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = Equals(left, right);
    } else if (op == "!=") {
      r = !Equals(left, right);
    } else if (op == "in" || op == "not in") {
      r = ApplyTest(*this, "in", left, CallArgs{{right}, {}}) == (op == "in");
    } else {
      if (left.is_undefined()) ThrowUndefined(left);
      if (right.is_undefined()) ThrowUndefined(right);
      const int c = Compare(left, right, op);
      r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!r) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

Value Interpreter::EvalBinary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value a = Eval(*e.a);
    return a.Truthy() ? Eval(*e.b) : a;
  }
  if (op == "or") {
    Value a = Eval(*e.a);
    return a.Truthy() ? a : Eval(*e.b);
  }
  const Value a = Eval(*e.a);
  const Value b = Eval(*e.b);
  if (op == "~") {
    std::string s = a.ToStr();
    s += b.ToStr();
    return MakeString(std::move(s));
  }
  if (a.is_undefined()) ThrowUndefined(a);
  if (b.is_undefined()) ThrowUndefined(b);
  const bool numbers = a.is_number() && b.is_number();
  const bool any_float = a.is_float() || b.is_float();
  if (op == "+") {
    if (numbers) {
      if (any_float) return Value::Float(a.float_value() + b.float_value());
      return Value::Int(AddInt(a.int_value(), b.int_value()));
    }
    if (a.is_string() && b.is_string()) {
      ChargeBytes(a.str().size() + b.str().size());
      return Value::Str(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
      ChargeIterations(a.list().items.size() + b.list().items.size());
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::MakeList(std::move(items), a.list().is_tuple);
    }
    if (a.is_string()) {
      throw TemplateError("can only concatenate str (not \"" + b.TypeName() + "\") to str");
    }
    Unsupported(op, a, b);
  }
  if (op == "-") {
    if (!numbers) Unsupported(op, a, b);
    if (any_float) return Value::Float(a.float_value() - b.float_value());
    return Value::Int(SubInt(a.int_value(), b.int_value()));
  }
  if (op == "*") {
    if (numbers) {
      if (any_float) return Value::Float(a.float_value() * b.float_value());
      return Value::Int(MulInt(a.int_value(), b.int_value()));
    }
    const Value& seq = a.is_number() ? b : a;
    const Value& count = a.is_number() ? a : b;
    if (!count.is_int() && !count.is_bool()) Unsupported(op, a, b);
    const int64_t times = std::max<int64_t>(0, count.int_value());
    if (seq.is_string()) {
      const uint64_t total = static_cast<uint64_t>(times) * seq.str().size();
      if (times > 0 && total / static_cast<uint64_t>(times) != seq.str().size()) ChargeBytes(SIZE_MAX);
      ChargeBytes(total);
      std::string out;
      out.reserve(total);
      for (int64_t i = 0; i < times; ++i) out += seq.str();
      return Value::Str(std::move(out));
    }
    if (seq.is_list()) {
      ChargeIterations(static_cast<uint64_t>(times) * std::max<size_t>(1, seq.list().items.size()));
      std::vector<Value> out;
      for (int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.list().items.begin(), seq.list().items.end());
      return Value::MakeList(std::move(out), seq.list().is_tuple);
    }
    Unsupported(op, a, b);
  }
  if (op == "/" || op == "//" || op == "%") {
    if (a.is_string() && op == "%") throw TemplateError("printf-style string formatting ('%' on a str) is not supported");
    if (!numbers) Unsupported(op, a, b);
    if (any_float) {
      const double x = a.float_value(), y = b.float_value();
      if (y == 0) throw TemplateError(op == "%" ? "float modulo" : "float division by zero");
      if (op == "/") return Value::Float(x / y);
      const double q = std::floor(x / y);
      if (op == "//") return Value::Float(q);
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::Float(m);
    }
    const int64_t x = a.int_value(), y = b.int_value();
    if (y == 0) throw TemplateError(op == "/" ? "division by zero" : "integer division or modulo by zero");
    if (op == "/") return Value::Float(static_cast<double>(x) / static_cast<double>(y));
    if (x == std::numeric_limits<int64_t>::min() && y == -1) Overflow();
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    return Value::Int(op == "//" ? q : m);
  }
  if (op == "**") {
    if (!numbers) Unsupported(op, a, b);
    if (any_float || b.int_value() < 0) return Value::Float(std::pow(a.float_value(), b.float_value()));
    int64_t base = a.int_value(), exp = b.int_value(), acc = 1;
    while (exp > 0) {
      if (exp & 1) acc = MulInt(acc, base);
      exp >>= 1;
      if (exp > 0) base = MulInt(base, base);
    }
    return Value::Int(acc);
  }
  throw TemplateError("unknown operator '" + op + "'");
}

}  // namespace dv::chat
