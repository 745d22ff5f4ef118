// GPT-2's reversible byte ↔ char mapping used by byte-level BPE vocabularies: printable bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') map to the same code point, the other 68 bytes to U+0100.. in
// byte order ("Ġ" = space, "Ċ" = newline).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dv::tok::byte_level {

char32_t ByteToChar(uint8_t b);
// The byte for a mapped char, or -1.
int CharToByte(char32_t cp);

// Appends the byte-level encoding of `bytes` (each byte → its char, UTF-8 encoded).
void Encode(std::string_view bytes, std::string& out);
// Decodes a byte-level token string to raw bytes. Chars outside the mapping are copied as UTF-8
// and make the function return false (such a token is not reachable from raw bytes).
bool Decode(std::string_view token, std::string& out);

}  // namespace dv::tok::byte_level
