#include "engine/chat/parser.h"

#include <algorithm>
#include <initializer_list>

#include "engine/chat/lexer.h"

namespace dv::chat {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> tokens, int max_depth) : tokens_(std::move(tokens)), max_depth_(max_depth) {}

  Body ParseAll() {
    Body body = ParseBody({});
    if (Peek().type != TokenType::kEof) Fail("unexpected tag");
    return body;
  }

 private:
  // RAII nesting guard: bounds recursion so hostile input cannot exhaust the stack.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > p_.max_depth_) {
        throw TemplateError("template nesting exceeds the limit of " + std::to_string(p_.max_depth_) +
                                " levels at line " + std::to_string(p_.Peek().line),
                            TemplateError::Kind::kLimit);
      }
    }
    ~DepthGuard() { --p_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser& p_;
  };

  const Token& Peek(size_t ahead = 0) const {
    const size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.type == TokenType::kOperator && t.text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.type == TokenType::kName && t.text == name;
  }
  bool AcceptOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool AcceptName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }

  static std::string Describe(const Token& t) {
    switch (t.type) {
      case TokenType::kData: return "template text";
      case TokenType::kVarBegin: return "'{{'";
      case TokenType::kVarEnd: return "'}}'";
      case TokenType::kBlockBegin: return "'{%'";
      case TokenType::kBlockEnd: return "end of statement block";
      case TokenType::kString: return "string literal";
      case TokenType::kInt:
      case TokenType::kFloat: return "number " + t.text;
      case TokenType::kEof: return "end of template";
      default: return "'" + t.text + "'";
    }
  }

  [[noreturn]] void Fail(const std::string& what) const {
    throw TemplateError("template syntax error at line " + std::to_string(Peek().line) + ": " + what +
                        " (found " + Describe(Peek()) + ")");
  }
  void ExpectOp(std::string_view op) {
    if (!AcceptOp(op)) Fail("expected '" + std::string(op) + "'");
  }
  void ExpectBlockEnd() {
    if (Peek().type != TokenType::kBlockEnd) Fail("expected end of statement block");
    Next();
  }
  std::string ExpectName(const char* what) {
    if (Peek().type != TokenType::kName) Fail(std::string("expected ") + what);
    return Next().text;
  }

  ExprPtr Make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  StmtPtr MakeStmt(StmtKind kind, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = line;
    return s;
  }

  // ---- Statements ----------------------------------------------------------------------------

  // Parses until a block whose first name is in `end_names` (left unconsumed, after its '{%').
  Body ParseBody(std::initializer_list<std::string_view> end_names) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = Peek();
      if (t.type == TokenType::kEof) {
        if (end_names.size() > 0) Fail("unexpected end of template, expected '" + std::string(*end_names.begin()) + "'");
        return body;
      }
      if (t.type == TokenType::kData) {
        auto s = MakeStmt(StmtKind::kText, t.line);
        s->text = Next().text;
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kVarBegin) {
        Next();
        auto s = MakeStmt(StmtKind::kPrint, t.line);
        s->expr = ParseTuple(true);
        if (Peek().type != TokenType::kVarEnd) Fail("expected '}}'");
        Next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        const Token& name = Peek(1);
        if (name.type == TokenType::kName &&
            std::find(end_names.begin(), end_names.end(), name.text) != end_names.end()) {
          Next();  // '{%'; the caller consumes the name
          return body;
        }
        Next();
        body.push_back(ParseStatement());
      } else {
        Fail("unexpected token");
      }
    }
  }

  StmtPtr ParseStatement() {
    const Token& t = Peek();
    if (t.type != TokenType::kName) Fail("expected a statement name");
    const std::string keyword = Next().text;
    const int line = t.line;
    if (keyword == "if") return ParseIf(line);
    if (keyword == "for") return ParseFor(line);
    if (keyword == "set") return ParseSet(line);
    if (keyword == "macro") return ParseMacro(line);
    if (keyword == "call") return ParseCallBlock(line);
    if (keyword == "filter") return ParseFilterBlock(line);
    if (keyword == "with") return ParseWith(line);
    if (keyword == "generation") {  // HF's AssistantTracker extension: renders its body in place
      auto s = MakeStmt(StmtKind::kScope, line);
      ExpectBlockEnd();
      s->body = ParseBody({"endgeneration"});
      Next();
      ExpectBlockEnd();
      return s;
    }
    if (keyword == "break" || keyword == "continue") {
      if (loop_depth_ == 0) Fail("'" + keyword + "' outside of a loop");
      ExpectBlockEnd();
      return MakeStmt(keyword == "break" ? StmtKind::kBreak : StmtKind::kContinue, line);
    }
    if (keyword == "include" || keyword == "import" || keyword == "from" || keyword == "extends" ||
        keyword == "block") {
      --pos_;
      Fail("'" + keyword + "' is not supported: chat templates are self-contained and cannot load other templates");
    }
    --pos_;
    Fail("unknown tag '" + keyword + "'");
  }

  StmtPtr ParseIf(int line) {
    auto s = MakeStmt(StmtKind::kIf, line);
    while (true) {
      s->conditions.push_back(ParseTuple(false));
      ExpectBlockEnd();
      s->bodies.push_back(ParseBody({"elif", "else", "endif"}));
      const std::string tag = Next().text;
      if (tag == "elif") continue;
      if (tag == "else") {
        ExpectBlockEnd();
        s->else_body = ParseBody({"endif"});
        Next();
      }
      ExpectBlockEnd();
      return s;
    }
  }

  Target ParseTarget(bool allow_attribute) {
    Target target;
    const bool parenthesized = AcceptOp("(");
    target.names.push_back(ExpectName("a variable name"));
    if (allow_attribute && !parenthesized && AcceptOp(".")) {
      target.attribute = ExpectName("an attribute name");
      return target;
    }
    while (AcceptOp(",")) {
      target.is_tuple = true;
      if (Peek().type != TokenType::kName || IsName("in")) break;
      target.names.push_back(Next().text);
    }
    if (parenthesized) {
      target.is_tuple = true;
      ExpectOp(")");
    }
    for (const std::string& n : target.names) {
      if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None") {
        Fail("cannot assign to '" + n + "'");
      }
    }
    return target;
  }

  StmtPtr ParseFor(int line) {
    auto s = MakeStmt(StmtKind::kFor, line);
    s->target = ParseTarget(false);
    if (!AcceptName("in")) Fail("expected 'in'");
    s->expr = ParseTuple(false, /*with_condexpr=*/false);
    if (AcceptName("if")) s->filter = ParseExpression();
    if (IsName("recursive")) Fail("recursive for-loops are not supported");
    ExpectBlockEnd();
    ++loop_depth_;
    s->body = ParseBody({"endfor", "else"});
    --loop_depth_;
    if (Next().text == "else") {
      ExpectBlockEnd();
      s->else_body = ParseBody({"endfor"});
      Next();
    }
    ExpectBlockEnd();
    return s;
  }

  std::vector<ExprPtr> ParseFilterChain() {
    std::vector<ExprPtr> chain;
    do {
      chain.push_back(ParseFilterCall(nullptr));
    } while (AcceptOp("|"));
    return chain;
  }

  StmtPtr ParseSet(int line) {
    Target target = ParseTarget(true);
    if (AcceptOp("=")) {
      auto s = MakeStmt(StmtKind::kSet, line);
      s->target = std::move(target);
      s->expr = ParseTuple(false);
      ExpectBlockEnd();
      return s;
    }
    auto s = MakeStmt(StmtKind::kSetBlock, line);
    s->target = std::move(target);
    if (AcceptOp("|")) s->filters = ParseFilterChain();
    ExpectBlockEnd();
    s->body = ParseBody({"endset"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  std::vector<MacroParam> ParseParams() {
    std::vector<MacroParam> params;
    ExpectOp("(");
    while (!IsOp(")")) {
      if (!params.empty()) ExpectOp(",");
      if (IsOp(")")) break;
      MacroParam p;
      p.name = ExpectName("a parameter name");
      if (AcceptOp("=")) p.default_value = ParseExpression();
      params.push_back(std::move(p));
    }
    Next();
    return params;
  }

  StmtPtr ParseMacro(int line) {
    auto s = MakeStmt(StmtKind::kMacro, line);
    s->text = ExpectName("a macro name");
    s->params = ParseParams();
    ExpectBlockEnd();
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    s->body = ParseBody({"endmacro"});
    loop_depth_ = saved_loops;
    Next();
    if (Peek().type == TokenType::kName) Next();  // {% endmacro name %}
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseCallBlock(int line) {
    auto s = MakeStmt(StmtKind::kCallBlock, line);
    if (IsOp("(")) s->params = ParseParams();
    s->expr = ParseExpression();
    if (s->expr->kind != ExprKind::kCall) Fail("expected a call after 'call'");
    ExpectBlockEnd();
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    s->body = ParseBody({"endcall"});
    loop_depth_ = saved_loops;
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseFilterBlock(int line) {
    auto s = MakeStmt(StmtKind::kFilterBlock, line);
    s->filters = ParseFilterChain();
    ExpectBlockEnd();
    s->body = ParseBody({"endfilter"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseWith(int line) {
    auto s = MakeStmt(StmtKind::kWith, line);
    while (Peek().type != TokenType::kBlockEnd) {
      if (!s->assignments.empty()) ExpectOp(",");
      Target t = ParseTarget(false);
      ExpectOp("=");
      s->assignments.emplace_back(std::move(t), ParseExpression());
    }
    ExpectBlockEnd();
    s->body = ParseBody({"endwith"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  // ---- Expressions ---------------------------------------------------------------------------

  // A comma-separated tuple or a single expression. `explicit_parens`: inside ( ).
  ExprPtr ParseTuple(bool allow_empty, bool with_condexpr = true) {
    const int line = Peek().line;
    std::vector<ExprPtr> items;
    bool saw_comma = false;
    while (true) {
      if (!items.empty()) {
        if (!AcceptOp(",")) break;
        saw_comma = true;
      }
      if (Peek().type == TokenType::kBlockEnd || Peek().type == TokenType::kVarEnd || IsOp(")") ||
          (!items.empty() && IsName("if") && !with_condexpr)) {
        break;
      }
      items.push_back(with_condexpr ? ParseExpression() : ParseOr());
    }
    if (items.empty() && !allow_empty) Fail("expected an expression");
    if (items.size() == 1 && !saw_comma) return std::move(items[0]);
    auto e = Make(ExprKind::kList, line);
    e->is_tuple = true;
    e->items = std::move(items);
    return e;
  }

  ExprPtr ParseExpression() {
    DepthGuard guard(*this);
    ExprPtr expr = ParseOr();
    while (IsName("if")) {
      const int line = Next().line;
      auto e = Make(ExprKind::kCondition, line);
      e->a = ParseOr();
      e->b = std::move(expr);
      if (AcceptName("else")) e->c = ParseExpression();
      expr = std::move(e);
    }
    return expr;
  }

  ExprPtr Binary(std::string op, ExprPtr lhs, ExprPtr rhs, int line) {
    auto e = Make(ExprKind::kBinary, line);
    e->name = std::move(op);
    e->a = std::move(lhs);
    e->b = std::move(rhs);
    return e;
  }

  ExprPtr ParseOr() {
    ExprPtr left = ParseAnd();
    while (IsName("or")) {
      const int line = Next().line;
      left = Binary("or", std::move(left), ParseAnd(), line);
    }
    return left;
  }

  ExprPtr ParseAnd() {
    ExprPtr left = ParseNot();
    while (IsName("and")) {
      const int line = Next().line;
      left = Binary("and", std::move(left), ParseNot(), line);
    }
    return left;
  }

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(*this);
      auto e = Make(ExprKind::kUnary, Next().line);
      e->name = "not";
      e->a = ParseNot();
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    const int line = Peek().line;
    ExprPtr first = ParseMath1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      const Token& t = Peek();
      if (t.type == TokenType::kOperator &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
        op = Next().text;
      } else if (IsName("in")) {
        Next();
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        Next();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(ExprKind::kCompare, line);
        cmp->a = std::move(first);
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(ParseMath1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr ParseMath1() {
    ExprPtr left = ParseConcat();
    while (IsOp("+") || IsOp("-")) {
      const Token& op = Next();
      left = Binary(op.text, std::move(left), ParseConcat(), op.line);
    }
    return left;
  }

  ExprPtr ParseConcat() {
    ExprPtr left = ParseMath2();
    while (IsOp("~")) {
      const int line = Next().line;
      left = Binary("~", std::move(left), ParseMath2(), line);
    }
    return left;
  }

  ExprPtr ParseMath2() {
    ExprPtr left = ParsePow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& op = Next();
      left = Binary(op.text, std::move(left), ParsePow(), op.line);
    }
    return left;
  }

  ExprPtr ParsePow() {
    ExprPtr left = ParseUnary(true);
    while (IsOp("**")) {
      const int line = Next().line;
      left = Binary("**", std::move(left), ParseUnary(true), line);
    }
    return left;
  }

  ExprPtr ParseUnary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      const Token& op = Next();
      node = Make(ExprKind::kUnary, op.line);
      node->name = op.text;
      node->a = ParseUnary(false);
    } else {
      node = ParsePrimary();
    }
    node = ParsePostfix(std::move(node));
    if (with_filter) node = ParseFilterExpr(std::move(node));
    return node;
  }

  ExprPtr ParsePrimary() {
    DepthGuard guard(*this);
    const Token& t = Peek();
    switch (t.type) {
      case TokenType::kName: {
        Next();
        auto e = Make(ExprKind::kLiteral, t.line);
        if (t.text == "true" || t.text == "True") {
          e->value = Value::Bool(true);
        } else if (t.text == "false" || t.text == "False") {
          e->value = Value::Bool(false);
        } else if (t.text == "none" || t.text == "None") {
          e->value = Value::None();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.text;
        }
        return e;
      }
      case TokenType::kString: {
        std::string text;
        while (Peek().type == TokenType::kString) text += Next().text;  // "a" "b" concatenates
        auto e = Make(ExprKind::kLiteral, t.line);
        e->value = Value::Str(std::move(text));
        return e;
      }
      case TokenType::kInt:
      case TokenType::kFloat: {
        Next();
        auto e = Make(ExprKind::kLiteral, t.line);
        e->value = t.type == TokenType::kInt ? Value::Int(t.int_value) : Value::Float(t.float_value);
        return e;
      }
      case TokenType::kOperator:
        if (t.text == "(") {
          Next();
          ExprPtr e = ParseTuple(true);
          ExpectOp(")");
          return e;
        }
        if (t.text == "[") return ParseListLiteral();
        if (t.text == "{") return ParseDictLiteral();
        break;
      default:
        break;
    }
    Fail("expected an expression");
  }

  ExprPtr ParseListLiteral() {
    auto e = Make(ExprKind::kList, Next().line);
    while (!IsOp("]")) {
      if (!e->items.empty()) ExpectOp(",");
      if (IsOp("]")) break;
      e->items.push_back(ParseExpression());
    }
    Next();
    return e;
  }

  ExprPtr ParseDictLiteral() {
    auto e = Make(ExprKind::kDict, Next().line);
    while (!IsOp("}")) {
      if (!e->items.empty()) ExpectOp(",");
      if (IsOp("}")) break;
      e->items.push_back(ParseExpression());
      ExpectOp(":");
      e->items.push_back(ParseExpression());
    }
    Next();
    return e;
  }

  ExprPtr ParsePostfix(ExprPtr node) {
    while (true) {
      const Token& t = Peek();
      if (IsOp(".")) {
        Next();
        const Token& attr = Peek();
        if (attr.type == TokenType::kName) {
          auto e = Make(ExprKind::kGetAttr, t.line);
          e->a = std::move(node);
          e->name = Next().text;
          node = std::move(e);
        } else if (attr.type == TokenType::kInt) {
          auto e = Make(ExprKind::kGetItem, t.line);
          e->a = std::move(node);
          e->b = Make(ExprKind::kLiteral, t.line);
          e->b->value = Value::Int(Next().int_value);
          node = std::move(e);
        } else {
          Fail("expected an attribute name after '.'");
        }
      } else if (IsOp("[")) {
        Next();
        node = ParseSubscript(std::move(node), t.line);
      } else if (IsOp("(")) {
        auto e = Make(ExprKind::kCall, t.line);
        e->a = std::move(node);
        ParseCallArgs(*e);
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  ExprPtr ParseSubscript(ExprPtr target, int line) {
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!IsOp("]")) {
      if (IsOp(":")) {
        Next();
        is_slice = true;
        if (++part > 2) Fail("too many ':' in slice");
        continue;
      }
      if (parts[part]) Fail("expected ']'");
      parts[part] = ParseExpression();
    }
    Next();
    if (!is_slice) {
      if (!parts[0]) Fail("expected a subscript");
      auto e = Make(ExprKind::kGetItem, line);
      e->a = std::move(target);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = Make(ExprKind::kSlice, line);
    e->items.push_back(std::move(target));
    e->a = std::move(parts[0]);
    e->b = std::move(parts[1]);
    e->c = std::move(parts[2]);
    return e;
  }

  // '(' args ')' into e->items / e->kwargs.
  void ParseCallArgs(Expr& e) {
    ExpectOp("(");
    bool first = true;
    while (!IsOp(")")) {
      if (!first) ExpectOp(",");
      first = false;
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) Fail("*args and **kwargs in calls are not supported");
      if (Peek().type == TokenType::kName && IsOp("=", 1)) {
        std::string name = Next().text;
        Next();
        e.kwargs.emplace_back(std::move(name), ParseExpression());
      } else {
        if (!e.kwargs.empty()) Fail("positional argument after keyword argument");
        e.items.push_back(ParseExpression());
      }
    }
    Next();
  }

  // One filter call `name[(args)]` applied to `operand` (null inside filter chains).
  ExprPtr ParseFilterCall(ExprPtr operand) {
    auto e = Make(ExprKind::kFilter, Peek().line);
    e->name = ExpectName("a filter name");
    while (IsOp(".") && Peek(1).type == TokenType::kName) {
      Next();
      e->name += "." + Next().text;
    }
    e->a = std::move(operand);
    if (IsOp("(")) ParseCallArgs(*e);
    return e;
  }

  ExprPtr ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        Next();
        node = ParseFilterCall(std::move(node));
      } else if (IsName("is")) {
        const int line = Next().line;
        auto e = Make(ExprKind::kTest, line);
        e->negated = AcceptName("not");
        e->name = ExpectName("a test name");
        while (IsOp(".") && Peek(1).type == TokenType::kName) {
          Next();
          e->name += "." + Next().text;
        }
        e->a = std::move(node);
        const Token& t = Peek();
        if (IsOp("(")) {
          ParseCallArgs(*e);
        } else if ((t.type == TokenType::kName || t.type == TokenType::kString || t.type == TokenType::kInt ||
                    t.type == TokenType::kFloat || IsOp("[") || IsOp("{")) &&
                   !IsName("else") && !IsName("or") && !IsName("and")) {
          if (IsName("is")) Fail("cannot chain multiple tests with 'is'");
          e->items.push_back(ParsePostfix(ParsePrimary()));
        }
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;
  int loop_depth_ = 0;
};

}  // namespace

Body ParseTemplate(std::string_view source, int max_depth) {
  return Parser(Lex(source), max_depth).ParseAll();
}

}  // namespace dv::chat
