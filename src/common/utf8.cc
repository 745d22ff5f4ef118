#include "common/utf8.h"

namespace dv::utf8 {
namespace {

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// For a lead byte, the expected sequence length and the valid range of the second byte
// (Unicode Table 3-7, "Well-Formed UTF-8 Byte Sequences"). Length 0 means "never valid as lead".
struct LeadInfo {
  int length;
  unsigned char lo, hi;  // allowed range for the second byte
};

LeadInfo Lead(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};  // continuation bytes and overlong 2-byte leads C0, C1
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // excludes overlong
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // excludes overlong
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // excludes > U+10FFFF
  return {0, 0, 0};                       // F5..FF
}

}  // namespace

Decoded DecodeAt(std::string_view s, size_t pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  const size_t avail = s.size() - pos;
  const LeadInfo info = Lead(p[0]);
  if (info.length == 1) return {p[0], 1, true};
  if (info.length == 0) return {kReplacementChar, 1, false};
  // Second byte has a lead-specific range; the rest are plain continuation bytes.
  if (avail < 2 || p[1] < info.lo || p[1] > info.hi) return {kReplacementChar, 1, false};
  char32_t cp = p[0] & (0xFF >> (info.length + 1));
  cp = (cp << 6) | (p[1] & 0x3F);
  for (int i = 2; i < info.length; ++i) {
    if (static_cast<size_t>(i) >= avail || !IsContinuation(p[i])) return {kReplacementChar, i, false};
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  return {cp, info.length, true};
}

size_t FirstInvalidOffset(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    Decoded d = DecodeAt(s, i);
    if (!d.valid) return i;
    i += d.length;
  }
  return std::string_view::npos;
}

bool IsValid(std::string_view s) { return FirstInvalidOffset(s) == std::string_view::npos; }

std::string Sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    Decoded d = DecodeAt(s, i);
    if (d.valid) {
      out.append(s.substr(i, d.length));
    } else {
      Append(out, kReplacementChar);
    }
    i += d.length;
  }
  return out;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) i += DecodeAt(s, i).length;
  return n;
}

void Append(std::string& out, char32_t cp) {
  if (!IsScalarValue(cp)) cp = kReplacementChar;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Encode(char32_t cp) {
  std::string out;
  Append(out, cp);
  return out;
}

std::u32string ToCodePoints(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    Decoded d = DecodeAt(s, i);
    out.push_back(d.code_point);
    i += d.length;
  }
  return out;
}

std::string FromCodePoints(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) Append(out, cp);
  return out;
}

size_t CompletePrefixLength(std::string_view s) {
  // Only the last 3 bytes can belong to an unfinished sequence.
  const size_t n = s.size();
  const size_t start = n > 3 ? n - 3 : 0;
  for (size_t i = start; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const LeadInfo info = Lead(b);
    if (info.length < 2) continue;
    if (i + static_cast<size_t>(info.length) <= n) continue;  // whole sequence present
    // Incomplete: does what we have form a valid prefix?
    bool viable = true;
    if (i + 1 < n) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      viable = b1 >= info.lo && b1 <= info.hi;
      for (size_t j = i + 2; viable && j < n; ++j) viable = IsContinuation(static_cast<unsigned char>(s[j]));
    }
    if (viable) return i;
  }
  return n;
}

std::string StreamDecoder::Feed(std::string_view bytes) {
  pending_.append(bytes);
  const size_t complete = CompletePrefixLength(pending_);
  std::string out = Sanitize(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out = Sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace dv::utf8
