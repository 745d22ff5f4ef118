#include "engine/tokenizer/unicode_class.h"

#include <unicode/uchar.h>

#include <array>

namespace dv::tok::uc {
namespace {

uint8_t ComputeClass(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  uint8_t bits = 0;
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER: case U_OTHER_LETTER:
      bits |= kLetter;
      break;
    case U_DECIMAL_DIGIT_NUMBER: case U_LETTER_NUMBER: case U_OTHER_NUMBER:
      bits |= kNumber;
      break;
    case U_CONNECTOR_PUNCTUATION: case U_DASH_PUNCTUATION: case U_START_PUNCTUATION:
    case U_END_PUNCTUATION: case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
      bits |= kPunct;
      break;
    case U_MATH_SYMBOL: case U_CURRENCY_SYMBOL: case U_MODIFIER_SYMBOL: case U_OTHER_SYMBOL:
      bits |= kSymbol;
      break;
    case U_NON_SPACING_MARK:
      bits |= kMark | kMarkNonspacing;
      break;
    case U_ENCLOSING_MARK: case U_COMBINING_SPACING_MARK:
      bits |= kMark;
      break;
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_UNASSIGNED: case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      bits |= kOther;
      break;
    default:  // separators Zs/Zl/Zp: classified by White_Space below
      break;
  }
  if (u_isUWhiteSpace(c)) bits |= kSpace;
  return bits;
}

struct BmpTable {
  std::array<uint8_t, 0x10000> bits;
  BmpTable() {
    for (char32_t cp = 0; cp < 0x10000; ++cp) bits[cp] = ComputeClass(cp);
  }
};

const BmpTable& Table() {
  static const BmpTable table;  // C++11 magic static: thread-safe initialisation
  return table;
}

}  // namespace

uint8_t Classify(char32_t cp) {
  if (cp < 0x10000) return Table().bits[cp];
  return ComputeClass(cp);
}

bool IsBertPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  return (Classify(cp) & kPunct) != 0;
}

bool IsCjkIdeograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

}  // namespace dv::tok::uc
