// MIME building blocks for the e-mail parser (RFC 2045–2047, 2231, 5322): header splitting and
// unfolding, transfer decodings, encoded-words, Content-Type / Content-Disposition parameters.
// All functions are pure, bounded by their input size, and accept malformed input leniently
// (what cannot be decoded is kept or dropped, never fatal).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dv::kb::internal {

struct MimeHeaders {
  // (lower-case name, raw unfolded value) in order of appearance.
  std::vector<std::pair<std::string, std::string>> fields;
  // First value of `lower_name`, or "".
  std::string_view Get(std::string_view lower_name) const;
};

// Splits an entity into its header fields and body (the header block ends at the first empty
// line; LF and CRLF are both accepted). A message with no empty line is all headers.
std::pair<MimeHeaders, std::string_view> SplitHeaders(std::string_view entity);

// Base64 (alphabet characters only; whitespace and garbage are skipped) and quoted-printable.
std::string DecodeBase64(std::string_view in);
std::string DecodeQuotedPrintable(std::string_view in);

// Header value → UTF-8 text: RFC 2047 encoded-words ("=?GB2312?B?...?=") are decoded and
// converted (adjacent words joined), raw 8-bit bytes are charset-detected, whitespace collapsed.
std::string DecodeHeaderValue(std::string_view raw);

// "text/plain; charset=gbk; name*=UTF-8''%E4%B8%AD.txt" → value "text/plain" (lower case) and
// parameters with lower-case names; RFC 2231 continuations and charsets are resolved, RFC 2047
// words in quoted values decoded. Values are UTF-8.
struct HeaderWithParams {
  std::string value;
  std::map<std::string, std::string> params;
};
HeaderWithParams ParseHeaderWithParams(std::string_view raw);

}  // namespace dv::kb::internal
