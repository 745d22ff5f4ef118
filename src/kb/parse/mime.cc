#include "kb/parse/mime.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/utf8.h"
#include "kb/parse/formats.h"
#include "kb/parse/text_decode.h"

namespace dv::kb::internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Value of a base64 digit (standard and URL-safe alphabets), or -1.
int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Bytes in `charset` → UTF-8; unknown charsets fall back to detection.
std::string CharsetToUtf8(std::string_view bytes, std::string_view charset) {
  std::string cs(charset);
  if (size_t star = cs.find('*'); star != std::string::npos) cs.resize(star);  // RFC 2231 lang
  if (!cs.empty()) {
    std::string lower = Lower(cs);
    // GB2312 mail is routinely GBK in practice; GB18030 is a superset of both.
    if (lower == "gb2312" || lower == "gbk" || lower == "x-gbk") cs = "GB18030";
    auto r = ConvertToUtf8(bytes, cs, /*strict=*/false);
    if (r.ok()) return std::move(r).value();
  }
  return DecodeText(bytes).text;
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view MimeHeaders::Get(std::string_view lower_name) const {
  for (const auto& [name, value] : fields) {
    if (name == lower_name) return value;
  }
  return {};
}

std::pair<MimeHeaders, std::string_view> SplitHeaders(std::string_view entity) {
  MimeHeaders headers;
  size_t pos = 0;
  std::string* last = nullptr;
  while (pos < entity.size()) {
    size_t nl = entity.find('\n', pos);
    size_t end = nl == std::string_view::npos ? entity.size() : nl;
    std::string_view line = entity.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? entity.size() : nl + 1;
    if (line.empty()) return {std::move(headers), entity.substr(pos)};
    if ((line[0] == ' ' || line[0] == '\t')) {
      if (last) {
        last->push_back(' ');
        last->append(TrimAscii(line));
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      last = nullptr;  // not a header field; ignored
      continue;
    }
    headers.fields.emplace_back(Lower(TrimAscii(line.substr(0, colon))),
                                std::string(TrimAscii(line.substr(colon + 1))));
    last = &headers.fields.back().second;
  }
  return {std::move(headers), entity.substr(entity.size())};
}

std::string DecodeBase64(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = Base64Value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string DecodeQuotedPrintable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    // Soft line break: '=' then optional trailing whitespace then (CR)LF.
    size_t j = i + 1;
    while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
    if (j < in.size() && (in[j] == '\r' || in[j] == '\n')) {
      if (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ++j;
      i = j;
      continue;
    }
    if (j == in.size()) break;
    if (i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string DecodeHeaderValue(std::string_view raw) {
  std::string out;
  std::string pending_bytes;  // decoded bytes of adjacent encoded-words in pending_charset
  std::string pending_charset;
  auto flush = [&] {
    if (!pending_bytes.empty()) out.append(CharsetToUtf8(pending_bytes, pending_charset));
    pending_bytes.clear();
  };
  size_t pos = 0;
  size_t plain_start = 0;
  bool last_was_word = false;
  while (pos < raw.size()) {
    size_t start = raw.find("=?", pos);
    if (start == std::string_view::npos) break;
    size_t q1 = raw.find('?', start + 2);
    size_t q2 = q1 == std::string_view::npos ? q1 : raw.find('?', q1 + 1);
    size_t end = q2 == std::string_view::npos ? q2 : raw.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      pos = start + 2;
      continue;
    }
    std::string charset(raw.substr(start + 2, q1 - start - 2));
    char encoding = static_cast<char>(std::toupper(static_cast<unsigned char>(raw[q1 + 1])));
    std::string_view text = raw.substr(q2 + 1, end - q2 - 1);
    if (encoding != 'B' && encoding != 'Q') {
      pos = start + 2;
      continue;
    }
    std::string_view between = raw.substr(plain_start, start - plain_start);
    bool only_space = TrimAscii(between).empty();
    if (!(last_was_word && only_space)) {
      flush();
      std::string plain(between);
      out.append(utf8::IsValid(plain) ? plain : DecodeText(plain).text);
    }
    if (Lower(charset) != Lower(pending_charset)) flush();
    pending_charset = charset;
    if (encoding == 'B') {
      pending_bytes.append(DecodeBase64(text));
    } else {
      std::string q(text);
      std::replace(q.begin(), q.end(), '_', ' ');
      pending_bytes.append(DecodeQuotedPrintable(q));
    }
    last_was_word = true;
    pos = plain_start = end + 2;
  }
  flush();
  std::string tail(raw.substr(plain_start));
  out.append(utf8::IsValid(tail) ? tail : DecodeText(tail).text);
  return CollapseWhitespace(out);
}

HeaderWithParams ParseHeaderWithParams(std::string_view raw) {
  HeaderWithParams result;
  // Split on ';' outside quotes.
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '"') quoted = !quoted;
    if (c == '\\' && quoted && i + 1 < raw.size()) {
      cur.push_back(raw[++i]);
      continue;
    }
    if (c == ';' && !quoted) {
      parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(std::move(cur));
  result.value = Lower(TrimAscii(parts[0]));

  // RFC 2231: name*0*=utf-8''a%20b, name*1*=c, name*=utf-8''x.
  std::map<std::string, std::map<int, std::pair<std::string, bool>>> continued;
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t eq = parts[i].find('=');
    if (eq == std::string::npos) continue;
    std::string name = Lower(TrimAscii(std::string_view(parts[i]).substr(0, eq)));
    std::string value(TrimAscii(std::string_view(parts[i]).substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    size_t star = name.find('*');
    if (star == std::string::npos) {
      if (!result.params.count(name)) result.params[name] = DecodeHeaderValue(value);
      continue;
    }
    std::string base = name.substr(0, star);
    std::string_view suffix = std::string_view(name).substr(star);  // "*", "*0", "*0*", "*1"
    bool extended = suffix.back() == '*';
    int index = 0;
    if (suffix.size() > 1) {
      std::string digits(suffix.substr(1, extended ? suffix.size() - 2 : suffix.size() - 1));
      std::string_view d = std::string_view(digits).substr(0, 4);
      if (std::from_chars(d.data(), d.data() + d.size(), index).ec != std::errc()) index = 0;
    }
    if (continued[base].size() < 100) continued[base][index] = {value, extended};
  }
  for (auto& [base, pieces] : continued) {
    std::string charset;
    std::string bytes;
    bool first = true;
    for (auto& [index, piece] : pieces) {
      std::string v = piece.first;
      if (piece.second) {
        if (first) {  // charset'language'value
          size_t q1 = v.find('\'');
          size_t q2 = q1 == std::string::npos ? q1 : v.find('\'', q1 + 1);
          if (q2 != std::string::npos) {
            charset = v.substr(0, q1);
            v = v.substr(q2 + 1);
          }
        }
        bytes.append(PercentDecode(v));
      } else {
        bytes.append(v);
      }
      first = false;
    }
    result.params[base] = CollapseWhitespace(CharsetToUtf8(bytes, charset));
  }
  return result;
}

}  // namespace dv::kb::internal
