// Plain text: decoded to UTF-8, split into paragraphs at blank lines. Line breaks inside a
// paragraph are kept (statutes and addresses are line-structured).
#include <string>

#include "common/utf8.h"
#include "kb/parse/formats.h"
#include "kb/parse/text_decode.h"

namespace dv::kb::internal {

std::string_view TrimAscii(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n' || s[b] == '\f' || s[b] == '\v')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n' || s[e - 1] == '\f' ||
                   s[e - 1] == '\v'))
    --e;
  return s.substr(b, e - b);
}

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (c >= 0x80) {
      utf8::Decoded d = utf8::DecodeAt(s, i);
      len = static_cast<size_t>(d.length);
      space = d.code_point == 0x3000 || d.code_point == 0xA0 || d.code_point == 0x200B;
    }
    if (space) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

Status CheckLineLengths(std::string_view text, size_t max_line_bytes) {
  size_t line_start = 0;
  size_t line_no = 1;
  while (line_start <= text.size()) {
    size_t nl = text.find('\n', line_start);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    if (end - line_start > max_line_bytes) {
      return ResourceExhausted("line " + std::to_string(line_no) + " is " + std::to_string(end - line_start) +
                               " bytes long (limit " + std::to_string(max_line_bytes) + ")");
    }
    if (nl == std::string_view::npos) break;
    line_start = nl + 1;
    ++line_no;
  }
  return Status::Ok();
}

Result<std::string> DecodeTextInput(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DecodedText decoded = DecodeText(bytes);
  doc.metadata["encoding"] = decoded.encoding;
  std::string text;
  text.reserve(decoded.text.size());
  // CRLF and lone CR → LF; NUL and other C0 controls except TAB/LF/FF dropped.
  const std::string& in = decoded.text;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r') {
      text.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\f') {
      continue;
    } else {
      text.push_back(c);
    }
  }
  DV_RETURN_IF_ERROR(CheckLineLengths(text, options.max_line_bytes));
  return text;
}

Status ParsePlainText(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(std::string text, DecodeTextInput(bytes, options, doc));
  AppendTextParagraphs(text, doc);
  return Status::Ok();
}

void AppendTextParagraphs(std::string_view text, ParsedDocument& doc) {
  std::string paragraph;
  auto flush = [&] {
    std::string_view t = TrimAscii(paragraph);
    if (!t.empty()) doc.blocks.push_back(Block{BlockKind::kParagraph, 0, std::string(t)});
    paragraph.clear();
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    // Trailing whitespace never carries meaning; a line of only whitespace ends a paragraph.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (TrimAscii(line).empty() || line == "\f") {
      flush();
    } else {
      if (!paragraph.empty()) paragraph.push_back('\n');
      paragraph.append(line);
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  flush();
}

}  // namespace dv::kb::internal
