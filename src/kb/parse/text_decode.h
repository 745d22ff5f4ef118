// Character-set detection and conversion to UTF-8 (ICU ucsdet + ucnv).
//
// Detection order: byte-order mark; the declared charset (HTML <meta>, MIME charset=) when ICU
// knows it and the bytes convert without error; valid UTF-8; GB18030 versus Big5 decided by how
// many of the decoded ideographs are common Chinese characters (ucsdet alone is unreliable on
// short Chinese texts); otherwise ICU's detector. The result is always valid UTF-8.
//
// Thread safety: all functions are reentrant.
#pragma once

#include <string>
#include <string_view>

#include "deepvault/status.h"

namespace dv::kb {

struct DecodedText {
  std::string text;      // valid UTF-8, BOM removed
  std::string encoding;  // canonical name of the source encoding, e.g. "UTF-8", "GB18030", "Big5"
};

// Detects the encoding of `bytes` and converts them to UTF-8. Undecodable bytes become U+FFFD.
DecodedText DecodeText(std::string_view bytes, std::string_view declared_charset = {});

// Converts `bytes` from `charset` (any name ICU knows: "gbk", "iso-8859-1", "big5", ...).
// strict: an undecodable byte sequence is an InvalidArgument error; otherwise it becomes U+FFFD.
// An unknown charset is InvalidArgument.
Result<std::string> ConvertToUtf8(std::string_view bytes, std::string_view charset, bool strict);

}  // namespace dv::kb
