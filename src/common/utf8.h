// UTF-8 helpers. Strict: overlong forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF
// and truncated sequences are invalid. Replacement follows the Unicode "maximal subpart" practice
// (one U+FFFD per maximal invalid subpart), which is what browsers and ICU do.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dv::utf8 {

inline constexpr char32_t kReplacementChar = 0xFFFD;
inline constexpr char32_t kMaxCodePoint = 0x10FFFF;

struct Decoded {
  char32_t code_point;  // kReplacementChar when !valid.
  int length;           // bytes consumed, 1..4; for invalid input, the maximal invalid subpart.
  bool valid;
};

// Decodes the sequence starting at s[pos]. REQUIRES: pos < s.size().
Decoded DecodeAt(std::string_view s, size_t pos);

// True when `cp` is a Unicode scalar value (not a surrogate, not above U+10FFFF).
constexpr bool IsScalarValue(char32_t cp) {
  return cp <= kMaxCodePoint && !(cp >= 0xD800 && cp <= 0xDFFF);
}

bool IsValid(std::string_view s);
// Byte offset of the first invalid sequence, or std::string_view::npos when valid.
size_t FirstInvalidOffset(std::string_view s);
// Copy of `s` with every maximal invalid subpart replaced by U+FFFD.
std::string Sanitize(std::string_view s);
// Number of code points; each invalid subpart counts as one.
size_t CodePointCount(std::string_view s);

// Appends the encoding of `cp`. A non-scalar value appends U+FFFD.
void Append(std::string& out, char32_t cp);
std::string Encode(char32_t cp);

// Decodes the whole string; invalid subparts become U+FFFD.
std::u32string ToCodePoints(std::string_view s);
std::string FromCodePoints(std::u32string_view cps);

// Length of the longest prefix of `s` that does not end inside a sequence that could still become
// valid with more bytes. Used by streaming: emit s[0, n), keep the rest for the next chunk.
size_t CompletePrefixLength(std::string_view s);

// Incremental decoder for token streams: bytes arrive in arbitrary pieces, text leaves only in
// whole characters. Not thread-safe; one per stream.
class StreamDecoder {
 public:
  // Returns the text that became complete with `bytes` (invalid subparts as U+FFFD).
  std::string Feed(std::string_view bytes);
  // Returns what is left (an incomplete tail becomes U+FFFD) and resets.
  std::string Flush();
  // Bytes held back, waiting for the rest of a character.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace dv::utf8
