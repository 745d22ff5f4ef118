// Character classes used by the pre-tokenizers and normalizers, from ICU's Unicode data.
//
// Classify(cp) returns a bit set of the classes below. BMP code points are served from a 64 KiB
// table built once (thread-safe lazy init); others ask ICU directly.
//
// `kSpace` is the Unicode White_Space property, which is what `\s` means in the Oniguruma regexes
// used by HF `tokenizers` (ICU's own `\s` differs for U+000B and U+0085; regex.cc rewrites it).
#pragma once

#include <cstdint>
#include <string_view>

namespace dv::tok::uc {

enum : uint8_t {
  kLetter = 1 << 0,  // \p{L}
  kNumber = 1 << 1,  // \p{N}
  kPunct = 1 << 2,   // \p{P}
  kSymbol = 1 << 3,  // \p{S}
  kMark = 1 << 4,    // \p{M}
  kSpace = 1 << 5,   // White_Space
  kMarkNonspacing = 1 << 6,  // \p{Mn}
  kOther = 1 << 7,   // \p{C}: control, format, unassigned, private use, surrogate
};

uint8_t Classify(char32_t cp);

// Decodes one code point of VALID UTF-8 at p (REQUIRES: p < end, the text was validated).
// Sets *len to the byte length.
inline char32_t DecodeValid(const char* p, int* len) {
  const auto b0 = static_cast<unsigned char>(p[0]);
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  const auto b1 = static_cast<unsigned char>(p[1]) & 0x3F;
  if (b0 < 0xE0) {
    *len = 2;
    return (char32_t(b0 & 0x1F) << 6) | b1;
  }
  const auto b2 = static_cast<unsigned char>(p[2]) & 0x3F;
  if (b0 < 0xF0) {
    *len = 3;
    return (char32_t(b0 & 0x0F) << 12) | (char32_t(b1) << 6) | b2;
  }
  const auto b3 = static_cast<unsigned char>(p[3]) & 0x3F;
  *len = 4;
  return (char32_t(b0 & 0x07) << 18) | (char32_t(b1) << 12) | (char32_t(b2) << 6) | b3;
}

// BERT's notion of punctuation: ASCII non-alphanumeric printable chars, or any \p{P}.
bool IsBertPunctuation(char32_t cp);
// BERT's "Chinese character" ranges (CJK Unified Ideographs and extensions, compatibility blocks).
bool IsCjkIdeograph(char32_t cp);

}  // namespace dv::tok::uc
