// Hand-written matchers for the split regexes of Qwen2/Qwen3, Llama 3 and DeepSeek-V3.
// Each one walks the text once, trying the pattern's alternatives in order at each position, with
// the same greedy/backtracking outcome the regex engine would reach (worked out per alternative in
// the comments). regex_test.cc checks them against the ICU engine.
#include <string_view>

#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/unicode_class.h"

namespace dv::tok {
namespace {

struct Char {
  char32_t cp;
  int len;
  uint8_t cls;
};

inline Char CharAt(std::string_view t, size_t i) {
  Char c;
  c.cp = uc::DecodeValid(t.data() + i, &c.len);
  c.cls = uc::Classify(c.cp);
  return c;
}

inline bool IsCrLf(char32_t cp) { return cp == '\r' || cp == '\n'; }

// End of the run of chars starting at i whose class intersects `mask`.
inline size_t RunEnd(std::string_view t, size_t i, uint8_t mask) {
  while (i < t.size()) {
    const Char c = CharAt(t, i);
    if (!(c.cls & mask)) break;
    i += c.len;
  }
  return i;
}

inline size_t CrLfRunEnd(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == '\r' || t[i] == '\n')) ++i;
  return i;
}

// "Other" for Qwen/Llama 3: [^\s\p{L}\p{N}].
inline bool IsQwenOther(const Char& c) { return !(c.cls & (uc::kSpace | uc::kLetter | uc::kNumber)); }

inline size_t QwenOtherRunEnd(std::string_view t, size_t i) {
  while (i < t.size()) {
    const Char c = CharAt(t, i);
    if (!IsQwenOther(c)) break;
    i += c.len;
  }
  return i;
}

// Shared tail of both patterns, for a whitespace char at i:
//   \s*[\r\n]+   → up to and including the last CR/LF of the whitespace run;
//   \s+(?!\S)    → the run, minus its last char unless the run ends the text;
//   \s+          → the whole run (a single whitespace char before a non-space).
inline size_t WhitespaceMatchEnd(std::string_view t, size_t i) {
  size_t j = i, last_crlf_end = 0, last_char_start = i;
  while (j < t.size()) {
    const Char c = CharAt(t, j);
    if (!(c.cls & uc::kSpace)) break;
    last_char_start = j;
    j += c.len;
    if (IsCrLf(c.cp)) last_crlf_end = j;
  }
  if (last_crlf_end != 0) return last_crlf_end;
  if (j == t.size()) return j;
  if (last_char_start > i) return last_char_start;
  return j;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) after the apostrophe at i-1: length matched after it, or 0.
inline size_t ContractionLength(std::string_view t, size_t i) {
  if (i >= t.size()) return 0;
  auto lower = [&](size_t k) -> char {
    if (k >= t.size()) return 0;
    const char ch = t[k];
    return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  };
  const char c = lower(i);
  if (c == 's' || c == 't' || c == 'm' || c == 'd') return 1;
  if ((c == 'r' || c == 'v') && lower(i + 1) == 'e') return 2;
  if (c == 'l' && lower(i + 1) == 'l') return 2;
  // U+017F LATIN SMALL LETTER LONG S case-folds to 's'.
  if (t.size() - i >= 2 && static_cast<unsigned char>(t[i]) == 0xC5 && static_cast<unsigned char>(t[i + 1]) == 0xBF) {
    return 2;
  }
  return 0;
}

class QwenRegex final : public PieceRegex {
 public:
  explicit QwenRegex(int max_digits) : max_digits_(max_digits) {}

  void FindMatches(std::string_view t, std::vector<Span>& out) const override {
    size_t i = 0;
    const size_t n = t.size();
    while (i < n) {
      const size_t start = i;
      const Char c0 = CharAt(t, i);
      size_t end = 0;
      if (c0.cp == '\'') {
        if (const size_t k = ContractionLength(t, i + 1)) end = i + 1 + k;
      }
      if (end == 0) {
        if (c0.cls & uc::kLetter) {
          end = RunEnd(t, i + c0.len, uc::kLetter);  // [^...]? empty, \p{L}+
        } else if (!IsCrLf(c0.cp) && !(c0.cls & uc::kNumber) && i + c0.len < n &&
                   (CharAt(t, i + c0.len).cls & uc::kLetter)) {
          end = RunEnd(t, i + c0.len, uc::kLetter);  // [^\r\n\p{L}\p{N}] \p{L}+
        } else if (c0.cls & uc::kNumber) {
          end = i + c0.len;
          for (int d = 1; d < max_digits_ && end < n; ++d) {
            const Char c = CharAt(t, end);
            if (!(c.cls & uc::kNumber)) break;
            end += c.len;
          }
        } else if (c0.cp == ' ' && i + 1 < n && IsQwenOther(CharAt(t, i + 1))) {
          end = CrLfRunEnd(t, QwenOtherRunEnd(t, i + 1));  // ' '[^\s\p{L}\p{N}]+[\r\n]*
        } else if (IsQwenOther(c0)) {
          end = CrLfRunEnd(t, QwenOtherRunEnd(t, i));
        } else {
          end = WhitespaceMatchEnd(t, i);  // c0 is whitespace
        }
      }
      out.push_back(Span{static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
      i = end;
    }
  }

  std::string_view engine() const override { return max_digits_ == 1 ? "qwen2" : "llama3"; }

 private:
  int max_digits_;
};

inline bool IsAsciiPunct(char32_t cp) {
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0x7E);
}
inline bool IsAsciiLetter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

class DeepSeekV3MainRegex final : public PieceRegex {
 public:
  void FindMatches(std::string_view t, std::vector<Span>& out) const override {
    constexpr uint8_t kLM = uc::kLetter | uc::kMark;
    constexpr uint8_t kPS = uc::kPunct | uc::kSymbol;
    size_t i = 0;
    const size_t n = t.size();
    while (i < n) {
      const Char c0 = CharAt(t, i);
      size_t end = 0;
      if (IsAsciiPunct(c0.cp) && i + 1 < n && IsAsciiLetter(t[i + 1])) {
        end = i + 2;  // [!"#...~][A-Za-z]+
        while (end < n && IsAsciiLetter(t[end])) ++end;
      } else if (c0.cls & kLM) {
        end = RunEnd(t, i + c0.len, kLM);  // optional empty, [\p{L}\p{M}]+
      } else if (!IsCrLf(c0.cp) && !(c0.cls & (uc::kLetter | kPS)) && i + c0.len < n &&
                 (CharAt(t, i + c0.len).cls & kLM)) {
        end = RunEnd(t, i + c0.len, kLM);  // [^\r\n\p{L}\p{P}\p{S}] [\p{L}\p{M}]+
      } else if (c0.cp == ' ' && i + 1 < n && (CharAt(t, i + 1).cls & kPS)) {
        end = CrLfRunEnd(t, RunEnd(t, i + 1, kPS));  // ' '[\p{P}\p{S}]+[\r\n]*
      } else if (c0.cls & kPS) {
        end = CrLfRunEnd(t, RunEnd(t, i, kPS));
      } else if (c0.cls & uc::kSpace) {
        end = WhitespaceMatchEnd(t, i);
      } else {
        i += c0.len;  // no alternative matches here (digits, controls, format chars, ...)
        continue;
      }
      out.push_back(Span{static_cast<uint32_t>(i), static_cast<uint32_t>(end)});
      i = end;
    }
  }
  std::string_view engine() const override { return "deepseek-v3"; }
};

// \p{N}{1,3}
class DigitGroupsRegex final : public PieceRegex {
 public:
  void FindMatches(std::string_view t, std::vector<Span>& out) const override {
    size_t i = 0;
    const size_t n = t.size();
    while (i < n) {
      // Skip ASCII non-digits quickly; every other byte takes the general path.
      const unsigned char b = static_cast<unsigned char>(t[i]);
      if (b < 0x80 && !(b >= '0' && b <= '9')) {
        ++i;
        continue;
      }
      const Char c = CharAt(t, i);
      if (!(c.cls & uc::kNumber)) {
        i += c.len;
        continue;
      }
      size_t end = i + c.len;
      for (int d = 1; d < 3 && end < n; ++d) {
        const Char next = CharAt(t, end);
        if (!(next.cls & uc::kNumber)) break;
        end += next.len;
      }
      out.push_back(Span{static_cast<uint32_t>(i), static_cast<uint32_t>(end)});
      i = end;
    }
  }
  std::string_view engine() const override { return "digits1to3"; }
};

// [一-龥぀-ゟ゠-ヿ]+ : U+4E00..U+9FA5, U+3040..U+30FF
class DeepSeekV3CjkRegex final : public PieceRegex {
 public:
  static bool In(char32_t cp) { return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x3040 && cp <= 0x30FF); }

  void FindMatches(std::string_view t, std::vector<Span>& out) const override {
    size_t i = 0;
    const size_t n = t.size();
    while (i < n) {
      if (static_cast<unsigned char>(t[i]) < 0x80) {
        ++i;
        continue;
      }
      int len;
      const char32_t cp = uc::DecodeValid(t.data() + i, &len);
      if (!In(cp)) {
        i += len;
        continue;
      }
      size_t end = i + len;
      while (end < n && static_cast<unsigned char>(t[end]) >= 0x80) {
        const char32_t next = uc::DecodeValid(t.data() + end, &len);
        if (!In(next)) break;
        end += len;
      }
      out.push_back(Span{static_cast<uint32_t>(i), static_cast<uint32_t>(end)});
      i = end;
    }
  }
  std::string_view engine() const override { return "deepseek-v3-cjk"; }
};

}  // namespace

std::unique_ptr<PieceRegex> MakeKnownRegex(std::string_view pattern) {
  if (pattern == patterns::kQwen2) return std::make_unique<QwenRegex>(1);
  if (pattern == patterns::kLlama3) return std::make_unique<QwenRegex>(3);
  if (pattern == patterns::kDigits1to3) return std::make_unique<DigitGroupsRegex>();
  if (pattern == patterns::kDeepSeekV3Cjk) return std::make_unique<DeepSeekV3CjkRegex>();
  if (pattern == patterns::kDeepSeekV3Main) return std::make_unique<DeepSeekV3MainRegex>();
  return nullptr;
}

}  // namespace dv::tok
