// Lexer for the Jinja2 template language as HF transformers configures it
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False).
//
// Produces a flat token stream: template text (kData, with whitespace control and raw blocks
// already applied) and, between kVarBegin/kVarEnd or kBlockBegin/kBlockEnd, expression tokens.
// Comments are dropped. Newlines (\r\n, \r) are normalized to \n and one trailing newline of the
// source is removed, as Jinja does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dv::chat {

enum class TokenType {
  kData,        // literal template text
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifier or keyword
  kString,      // string literal, escapes decoded
  kInt,
  kFloat,
  kOperator,    // + - * / // % ** ~ ( ) [ ] { } . , : | = == != < <= > >=
  kEof,
};

struct Token {
  TokenType type;
  std::string text;  // data, name, decoded string, or operator spelling
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

// Throws TemplateError (with the line) on unterminated tags, strings or bad characters.
std::vector<Token> Lex(std::string_view source);

}  // namespace dv::chat
