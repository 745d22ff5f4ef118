// Tree-walking evaluator for parsed templates, with the sandbox bounds that make hostile templates
// fail with an error instead of hanging or exhausting memory.
//
// One Interpreter renders one template once; it is not thread-safe and not reusable. The syntax
// tree it walks is only read, so many Interpreters may walk one tree concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/chat/ast.h"
#include "engine/chat/value.h"

namespace dv::chat {

// Sandbox bounds. Exceeding any of them aborts the render with a "limit" TemplateError.
struct RenderLimits {
  size_t max_output_bytes = 32u << 20;     // the rendered prompt, and any single string value
  uint64_t max_work_bytes = 512ull << 20;  // all bytes of all strings built during the render
  uint64_t max_steps = 20'000'000;         // statements + expressions evaluated
  uint64_t max_loop_iterations = 1'000'000;  // all for-loop iterations together; also range() size
  int max_call_depth = 64;                 // nested macro calls
  int max_eval_depth = 512;                // nested expression/statement evaluation
  int max_parse_depth = 200;               // nesting of the source (checked by the parser)
};

// A variable frame. Frames form a chain up to the render's globals; a for-loop iteration, macro
// call or with-block gets its own frame, so assignments inside do not leak out (namespace() objects
// are how templates carry values out of loops).
struct Scope {
  explicit Scope(std::shared_ptr<Scope> parent_scope) : parent(std::move(parent_scope)) {}
  const Value* Lookup(const std::string& name) const;

  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
};

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, std::shared_ptr<Scope> globals);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders `body` and returns the text. Throws TemplateError.
  std::string Render(const Body& body);

  // ---- For builtins (filters, methods, macros) ----
  // Calls a callable value; throws when `callee` is not callable (undefined: its hint).
  Value Call(const Value& callee, CallArgs args);
  // A new string value; counts its bytes against the work and size bounds.
  Value MakeString(std::string s);
  // Counts `n` bytes of work (and rejects a single value over max_output_bytes).
  void ChargeBytes(size_t n);
  // Counts loop-like work done by a builtin (range(), sorting, ...).
  void ChargeIterations(uint64_t n);
  // Renders a macro or call-block body with `scope` as its frame; returns its output. The frame's
  // variables are cleared afterwards (see ScopeExit in interpreter.cc).
  std::string RenderMacroBody(const Body& body, std::shared_ptr<Scope> scope);
  // Evaluates `expr` with `scope` as the current frame (macro parameter defaults).
  Value EvalIn(const Expr& expr, std::shared_ptr<Scope> scope);
  int& call_depth() { return call_depth_; }
  const RenderLimits& limits() const { return limits_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  class DepthGuard;

  Flow ExecBody(const Body& body);
  Flow Exec(const Stmt& s);
  Flow ExecFor(const Stmt& s);
  void ExecCallBlock(const Stmt& s);
  void Assign(const Target& target, const Value& value, int line);
  void Write(std::string_view text);
  std::string Capture(const Body& body, std::shared_ptr<Scope> scope);

  Value Eval(const Expr& e);
  Value EvalBinary(const Expr& e);
  Value EvalCompare(const Expr& e);
  Value EvalCall(const Expr& e);
  Value EvalFilter(const Expr& e, Value operand);
  Value EvalSlice(const Expr& e);
  CallArgs EvalArgs(const Expr& e);
  void Step();

  const RenderLimits& limits_;
  std::shared_ptr<Scope> scope_;
  std::string* out_ = nullptr;
  uint64_t steps_ = 0;
  uint64_t work_bytes_ = 0;
  uint64_t loop_iterations_ = 0;
  int eval_depth_ = 0;
  int call_depth_ = 0;
  int line_ = 0;  // line of the statement being executed, for error messages
};

// Raises the error Jinja raises for using an undefined value (its hint, or `fallback`).
[[noreturn]] void ThrowUndefined(const Value& v);

}  // namespace dv::chat
