#include "engine/chat/lexer.h"

#include <cmath>
#include <cstdlib>

#include "common/utf8.h"
#include "engine/chat/pystring.h"
#include "engine/chat/value.h"

namespace dv::chat {
namespace {

std::string NormalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Length of the Python-whitespace prefix of s[pos..].
size_t SkipPySpace(std::string_view s, size_t pos) {
  size_t i = pos;
  while (i < s.size()) {
    const utf8::Decoded d = utf8::DecodeAt(s, i);
    if (!py::IsSpace(d.code_point)) break;
    i += static_cast<size_t>(d.length);
  }
  return i;
}

bool AllPySpace(std::string_view s) {
  return !s.empty() && SkipPySpace(s, 0) == s.size();
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(NormalizeNewlines(source)) {}

  std::vector<Token> Run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      const size_t tag = FindTagStart(pos);
      if (tag == std::string::npos) {
        EmitData(std::string_view(src_).substr(pos), pos);
        break;
      }
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      size_t raw_body = std::string::npos;
      if (kind == '%') raw_body = MatchRawBegin(tag);
      std::string text = src_.substr(pos, tag - pos);
      ApplyLeftStrip(text, sign, kind != '{', pos);
      EmitData(text, pos);
      line_ = LineAt(tag);
      if (kind == '#') {
        pos = LexComment(tag);
      } else if (raw_body != std::string::npos) {
        pos = LexRaw(raw_body);
      } else {
        pos = LexTag(tag, kind, sign ? tag + 3 : tag + 2);
      }
    }
    tokens_.push_back({TokenType::kEof, "", 0, 0, LineAt(src_.size())});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void Fail(const std::string& what, size_t at) {
    throw TemplateError("template syntax error at line " + std::to_string(LineAt(at)) + ": " + what);
  }

  int LineAt(size_t at) {
    // Incremental: positions only move forward except for error reports.
    if (at < line_pos_) {
      line_pos_ = 0;
      line_count_ = 1;
    }
    for (; line_pos_ < at && line_pos_ < src_.size(); ++line_pos_) {
      if (src_[line_pos_] == '\n') ++line_count_;
    }
    return line_count_;
  }

  size_t FindTagStart(size_t pos) const {
    for (size_t i = src_.find('{', pos); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // `{%[-+]?\s*raw\s*[-]?%}` at `tag`: returns the offset after it, applying its own whitespace
  // control ("-%}" strips following whitespace; trim_blocks does not apply), or npos.
  size_t MatchRawBegin(size_t tag) const {
    size_t i = tag + 2;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
    while (i < src_.size() && IsAsciiSpace(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0) return std::string::npos;
    i += 3;
    if (i < src_.size() && (IsNameStart(src_[i]) || IsDigit(src_[i]))) return std::string::npos;
    while (i < src_.size() && IsAsciiSpace(src_[i])) ++i;
    if (src_.compare(i, 3, "-%}") == 0) return SkipPySpace(src_, i + 3);
    if (src_.compare(i, 2, "%}") == 0) return i + 2;
    return std::string::npos;
  }

  // Whitespace control on the text before a tag: "-" strips all trailing whitespace;
  // lstrip_blocks strips spaces/tabs between a line start and a block or comment tag.
  void ApplyLeftStrip(std::string& text, char sign, bool is_block_or_comment, size_t text_start) const {
    if (sign == '-') {
      text = py::Strip(text, std::nullopt, py::StripSide::kRight);
    } else if (sign != '+' && is_block_or_comment) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      const bool line_starting = text_start == 0 || src_[text_start - 1] == '\n';
      if ((l_pos > 0 || line_starting) && AllPySpace(std::string_view(text).substr(l_pos))) {
        text.resize(l_pos);
      }
    }
  }

  void EmitData(std::string_view text, size_t at) {
    if (text.empty()) return;
    tokens_.push_back({TokenType::kData, std::string(text), 0, 0, LineAt(at)});
  }

  // After a block/comment end: "-" strips following whitespace, "+" keeps it, otherwise
  // trim_blocks removes one newline.
  size_t AfterBlockEnd(size_t after, char sign) const {
    if (sign == '-') return SkipPySpace(src_, after);
    if (sign == 0 && after < src_.size() && src_[after] == '\n') return after + 1;
    return after;
  }

  size_t LexComment(size_t tag) {
    const size_t end = src_.find("#}", tag + 2);
    if (end == std::string::npos) Fail("missing end of comment tag", tag);
    char sign = 0;
    if (end > tag + 2 && (src_[end - 1] == '-' || src_[end - 1] == '+')) sign = src_[end - 1];
    return AfterBlockEnd(end + 2, sign);
  }

  size_t LexRaw(size_t body_start) {
    for (size_t i = src_.find("{%", body_start); i != std::string::npos; i = src_.find("{%", i + 2)) {
      size_t j = i + 2;
      const char sign = j < src_.size() && (src_[j] == '-' || src_[j] == '+') ? src_[j] : 0;
      if (sign) ++j;
      while (j < src_.size() && IsAsciiSpace(src_[j])) ++j;
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < src_.size() && IsAsciiSpace(src_[j])) ++j;
      char end_sign = 0;
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) end_sign = src_[j++];
      if (src_.compare(j, 2, "%}") != 0) continue;
      std::string body = src_.substr(body_start, i - body_start);
      ApplyLeftStrip(body, sign, true, body_start);
      EmitData(body, body_start);
      return AfterBlockEnd(j + 2, end_sign);
    }
    Fail("missing end of raw directive", body_start);
  }

  size_t LexTag(size_t tag, char kind, size_t pos) {
    const bool is_var = kind == '{';
    tokens_.push_back({is_var ? TokenType::kVarBegin : TokenType::kBlockBegin, "", 0, 0, LineAt(tag)});
    int depth = 0;  // open ( [ {: end delimiters only count at depth 0, as in Jinja
    while (true) {
      while (pos < src_.size() && IsAsciiSpace(src_[pos])) ++pos;
      if (pos >= src_.size()) Fail(is_var ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'", tag);
      if (depth == 0) {
        const std::string_view rest = std::string_view(src_).substr(pos);
        if (is_var) {
          if (rest.starts_with("-}}")) {
            Push(TokenType::kVarEnd, "", pos);
            return SkipPySpace(src_, pos + 3);
          }
          if (rest.starts_with("}}")) {
            Push(TokenType::kVarEnd, "", pos);
            return pos + 2;
          }
        } else {
          for (const char sign : {'-', '+'}) {
            if (rest.size() >= 3 && rest[0] == sign && rest.substr(1, 2) == "%}") {
              Push(TokenType::kBlockEnd, "", pos);
              return AfterBlockEnd(pos + 3, sign);
            }
          }
          if (rest.starts_with("%}")) {
            Push(TokenType::kBlockEnd, "", pos);
            return AfterBlockEnd(pos + 2, 0);
          }
        }
      }
      pos = LexExpressionToken(pos, depth);
    }
  }

  void Push(TokenType type, std::string text, size_t at) {
    tokens_.push_back({type, std::move(text), 0, 0, LineAt(at)});
  }

  size_t LexExpressionToken(size_t pos, int& depth) {
    const char c = src_[pos];
    if (IsNameStart(c)) {
      size_t e = pos;
      while (e < src_.size() && (IsNameStart(src_[e]) || IsDigit(src_[e]))) ++e;
      Push(TokenType::kName, src_.substr(pos, e - pos), pos);
      return e;
    }
    if (IsDigit(c)) return LexNumber(pos);
    if (c == '\'' || c == '"') return LexString(pos);
    static constexpr std::string_view kTwoChar[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwoChar) {
      if (src_.compare(pos, 2, op) == 0) {
        Push(TokenType::kOperator, std::string(op), pos);
        return pos + 2;
      }
    }
    static constexpr std::string_view kOneChar = "+-*/%~()[]{}.,:|=<>";
    if (kOneChar.find(c) == std::string_view::npos) {
      Fail(std::string("unexpected character '") + (static_cast<unsigned char>(c) < 0x80 ? std::string(1, c) : "non-ASCII") + "'", pos);
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') {
      if (depth == 0) Fail(std::string("unexpected '") + c + "'", pos);
      --depth;
    }
    Push(TokenType::kOperator, std::string(1, c), pos);
    return pos + 1;
  }

  // Digits with optional '_' separators between them.
  size_t ScanDigits(size_t pos, std::string& digits) const {
    while (pos < src_.size() && IsDigit(src_[pos])) {
      digits += src_[pos++];
      if (pos + 1 < src_.size() && src_[pos] == '_' && IsDigit(src_[pos + 1])) ++pos;
    }
    return pos;
  }

  size_t LexNumber(size_t pos) {
    std::string digits;
    size_t e = ScanDigits(pos, digits);
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && IsDigit(src_[e + 1])) {
      digits += '.';
      e = ScanDigits(e + 1, digits);
      is_float = true;
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      std::string exp = "e";
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) exp += src_[x++];
      if (x < src_.size() && IsDigit(src_[x])) {
        e = ScanDigits(x, exp);
        digits += exp;
        is_float = true;
      }
    }
    Token t{is_float ? TokenType::kFloat : TokenType::kInt, digits, 0, 0, LineAt(pos)};
    if (is_float) {
      t.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(digits.c_str(), &end, 10);
      if (errno == ERANGE) Fail("integer literal " + digits + " is too large", pos);
      t.int_value = v;
    }
    tokens_.push_back(std::move(t));
    return e;
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  size_t LexString(size_t pos) {
    const char quote = src_[pos];
    std::string out;
    size_t i = pos + 1;
    while (true) {
      if (i >= src_.size()) Fail("unterminated string literal", pos);
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\' || i + 1 >= src_.size()) {
        out += c;
        ++i;
        continue;
      }
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;  // line continuation
        case 'x': case 'u': case 'U': {
          const size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            const int h = i + k < src_.size() ? HexValue(src_[i + k]) : -1;
            if (h < 0) Fail(std::string("truncated \\") + e + " escape in string literal", pos);
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (!utf8::IsScalarValue(cp)) Fail("escape in string literal is not a Unicode scalar value", pos);
          utf8::Append(out, cp);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[i++] - '0');
            }
            utf8::Append(out, cp);
          } else {
            out += '\\';  // Python keeps unknown escapes as written
            out += e;
          }
      }
    }
    Push(TokenType::kString, std::move(out), pos);
    return i + 1;
  }

  std::string src_;
  std::vector<Token> tokens_;
  int line_ = 1;
  size_t line_pos_ = 0;
  int line_count_ = 1;
};

}  // namespace

std::vector<Token> Lex(std::string_view source) { return Lexer(source).Run(); }

}  // namespace dv::chat
