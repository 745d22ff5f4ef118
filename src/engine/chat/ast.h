// Syntax tree of a parsed template. Built once by the parser, then only read (shared by all
// renders of a ChatTemplate). Every node remembers its source line for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat/value.h"

namespace dv::chat {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind {
  kLiteral,    // value
  kName,       // name
  kList,       // items (is_tuple for tuples)
  kDict,       // items: key, value, key, value, ...
  kGetAttr,    // a.name
  kGetItem,    // a[b]
  kSlice,      // a[b:c:d]; absent parts are null
  kCall,       // a(args..., name=kwargs...)
  kFilter,     // a | name(args..., kwargs...)
  kTest,       // a is [not] name(args...)
  kUnary,      // op a: "-", "+", "not"
  kBinary,     // a op b: + - * / // % ** ~ and or
  kCompare,    // a op1 b op2 c ...: == != < <= > >= in "not in"
  kCondition,  // b if a else c (c may be null: undefined)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  std::string name;  // kName, kGetAttr, kFilter, kTest; operator for kUnary/kBinary
  Value value;       // kLiteral
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;                              // list/dict items, call/filter/test args
  std::vector<std::pair<std::string, ExprPtr>> kwargs;     // keyword arguments
  std::vector<std::string> ops;                            // kCompare operators (one per b in items)
  bool is_tuple = false;                                   // kList
  bool negated = false;                                    // kTest: "is not"
};

// Assignment target: a name, a tuple of names (`a, b`), or a namespace attribute (`ns.x`).
struct Target {
  std::vector<std::string> names;  // one name, or several for tuple unpacking
  bool is_tuple = false;
  std::string attribute;           // non-empty: assigns names[0].attribute
};

enum class StmtKind {
  kText,      // text
  kPrint,     // {{ expr }}
  kIf,        // conditions[i] → bodies[i]; else_body
  kFor,       // for target in expr [if filter] body [else else_body]
  kSet,       // set target = expr
  kSetBlock,  // set target [| filters] ... endset
  kMacro,     // macro name(params) body
  kCallBlock, // call[(caller params)] expr body
  kFilterBlock,  // filter f | g ... endfilter
  kWith,      // with a = x, b = y body
  kBreak,
  kContinue,
  kScope,     // a body rendered in place (generation blocks)
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;                  // kText; macro name
  ExprPtr expr;                      // print/set/for iterable/call expression
  ExprPtr filter;                    // for-loop filter condition
  Target target;                     // set/for
  std::vector<ExprPtr> conditions;   // if
  std::vector<Body> bodies;          // if branches
  Body body;                         // for/macro/call/set-block/filter/with/scope body
  Body else_body;                    // if/for
  std::vector<MacroParam> params;    // macro, call-block caller
  std::vector<ExprPtr> filters;      // set-block / filter-block chain: kFilter nodes, a == null
  std::vector<std::pair<Target, ExprPtr>> assignments;  // with
};

}  // namespace dv::chat
