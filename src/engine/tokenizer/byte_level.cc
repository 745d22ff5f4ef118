#include "engine/tokenizer/byte_level.h"

#include <array>

#include "common/utf8.h"

namespace dv::tok::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 512> to_byte{};  // indexed by code point < 512
  Tables() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& T() {
  static const Tables tables;
  return tables;
}

}  // namespace

char32_t ByteToChar(uint8_t b) { return T().to_char[b]; }

int CharToByte(char32_t cp) { return cp < 512 ? T().to_byte[cp] : -1; }

void Encode(std::string_view bytes, std::string& out) {
  for (char c : bytes) utf8::Append(out, ByteToChar(static_cast<uint8_t>(c)));
}

bool Decode(std::string_view token, std::string& out) {
  bool all_mapped = true;
  for (size_t i = 0; i < token.size();) {
    const utf8::Decoded d = utf8::DecodeAt(token, i);
    const int b = d.valid ? CharToByte(d.code_point) : -1;
    if (b >= 0) {
      out += static_cast<char>(b);
    } else {
      out.append(token.substr(i, d.length));
      all_mapped = false;
    }
    i += d.length;
  }
  return all_mapped;
}

}  // namespace dv::tok::byte_level
