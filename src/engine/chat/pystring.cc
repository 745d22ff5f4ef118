#include "engine/chat/pystring.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/utf8.h"

namespace dv::chat::py {
namespace {

// Appends the code points of `s` as (byte offset, byte length) spans.
struct Span {
  size_t pos;
  size_t len;
  char32_t cp;
};

std::vector<Span> Spans(std::string_view s) {
  std::vector<Span> spans;
  spans.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const utf8::Decoded d = utf8::DecodeAt(s, i);
    spans.push_back({i, static_cast<size_t>(d.length), d.code_point});
    i += static_cast<size_t>(d.length);
  }
  return spans;
}

bool IsLineBreak(char32_t cp) {
  return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
         cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

std::string ToUtf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

icu::UnicodeString FromUtf8(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

bool IsCased(char32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_CASED); }

}  // namespace

bool IsSpace(char32_t cp) {
  switch (cp) {
    case ' ': case '\t': case '\n': case '\r': case 0x0B: case 0x0C:
    case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x85: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string Strip(std::string_view s, const std::optional<std::string>& chars, StripSide side) {
  std::u32string set;
  if (chars) set = utf8::ToCodePoints(*chars);
  auto strip_it = [&](char32_t cp) {
    return chars ? set.find(cp) != std::u32string::npos : IsSpace(cp);
  };
  const std::vector<Span> spans = Spans(s);
  size_t first = 0, last = spans.size();
  if (side != StripSide::kRight) {
    while (first < last && strip_it(spans[first].cp)) ++first;
  }
  if (side != StripSide::kLeft) {
    while (last > first && strip_it(spans[last - 1].cp)) --last;
  }
  if (first == last) return {};
  return std::string(s.substr(spans[first].pos, spans[last - 1].pos + spans[last - 1].len - spans[first].pos));
}

std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t hit = s.find(*sep, start);
      if (hit == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, hit - start));
      start = hit + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  const std::vector<Span> spans = Spans(s);
  size_t i = 0;
  while (i < spans.size()) {
    while (i < spans.size() && IsSpace(spans[i].cp)) ++i;
    if (i == spans.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      parts.emplace_back(s.substr(spans[i].pos));  // the remainder, trailing whitespace kept
      break;
    }
    const size_t begin = i;
    while (i < spans.size() && !IsSpace(spans[i].cp)) ++i;
    parts.emplace_back(s.substr(spans[begin].pos, spans[i - 1].pos + spans[i - 1].len - spans[begin].pos));
  }
  return parts;
}

std::vector<std::string> SplitLines(std::string_view s) {
  std::vector<std::string> lines;
  const std::vector<Span> spans = Spans(s);
  size_t line_start = 0;  // byte offset
  for (size_t i = 0; i < spans.size(); ++i) {
    if (!IsLineBreak(spans[i].cp)) continue;
    lines.emplace_back(s.substr(line_start, spans[i].pos - line_start));
    if (spans[i].cp == '\r' && i + 1 < spans.size() && spans[i + 1].cp == '\n') ++i;
    line_start = spans[i].pos + spans[i].len;
  }
  if (line_start < s.size()) lines.emplace_back(s.substr(line_start));
  return lines;
}

std::string Replace(std::string_view s, std::string_view old, std::string_view replacement,
                    int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {
    const std::vector<Span> spans = Spans(s);
    for (const Span& sp : spans) {
      if (count < 0 || done < count) {
        out += replacement;
        ++done;
      }
      out += s.substr(sp.pos, sp.len);
    }
    if (count < 0 || done < count) out += replacement;
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    const size_t hit = s.find(old, start);
    if (hit == std::string_view::npos) break;
    out += s.substr(start, hit - start);
    out += replacement;
    start = hit + old.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

std::string Upper(std::string_view s) { return ToUtf8(FromUtf8(s).toUpper(icu::Locale::getRoot())); }
std::string Lower(std::string_view s) { return ToUtf8(FromUtf8(s).toLower(icu::Locale::getRoot())); }

std::string Capitalize(std::string_view s) {
  if (s.empty()) return {};
  const utf8::Decoded first = utf8::DecodeAt(s, 0);
  std::string out;
  utf8::Append(out, static_cast<char32_t>(u_totitle(static_cast<UChar32>(first.code_point))));
  out += Lower(s.substr(static_cast<size_t>(first.length)));
  return out;
}

std::string Title(std::string_view s) {
  std::string out;
  bool previous_cased = false;
  for (const Span& sp : Spans(s)) {
    const std::string_view piece = s.substr(sp.pos, sp.len);
    if (previous_cased) {
      out += Lower(piece);
    } else if (IsCased(sp.cp)) {
      utf8::Append(out, static_cast<char32_t>(u_totitle(static_cast<UChar32>(sp.cp))));
    } else {
      out += piece;
    }
    previous_cased = IsCased(sp.cp);
  }
  return out;
}

size_t Length(std::string_view s) { return utf8::CodePointCount(s); }

std::vector<std::string> CodePoints(std::string_view s) {
  std::vector<std::string> out;
  for (const Span& sp : Spans(s)) out.emplace_back(s.substr(sp.pos, sp.len));
  return out;
}

std::vector<size_t> SliceIndices(size_t length, std::optional<int64_t> start,
                                 std::optional<int64_t> stop, int64_t step) {
  const int64_t n = static_cast<int64_t>(length);
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    return std::clamp(x, lo, hi);
  };
  std::vector<size_t> idx;
  if (step > 0) {
    const int64_t b = clamp(start, 0, 0, n), e = clamp(stop, n, 0, n);
    for (int64_t i = b; i < e; i += step) idx.push_back(static_cast<size_t>(i));
  } else {
    const int64_t b = clamp(start, n - 1, -1, n - 1), e = clamp(stop, -1, -1, n - 1);
    for (int64_t i = b; i > e; i += step) idx.push_back(static_cast<size_t>(i));
  }
  return idx;
}

std::string FloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-d.ddde+XX" shortest round-trip
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + ebuf;
  }
  if (exponent < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out += digits;
    return out;
  }
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
    out += ".0";
    return out;
  }
  out.append(digits, 0, int_digits);
  out += '.';
  out.append(digits, int_digits);
  return out;
}

std::string StrRepr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (const Span& sp : Spans(s)) {
    const char32_t cp = sp.cp;
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out += s.substr(sp.pos, sp.len);
    }
  }
  out += quote;
  return out;
}

}  // namespace dv::chat::py
