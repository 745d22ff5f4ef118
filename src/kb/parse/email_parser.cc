// E-mail: one RFC 5322 message (.eml) or an mbox of many. Per message: a level-1 heading with the
// Subject, a paragraph with From/To/Cc/Date, then the body. multipart/alternative prefers
// text/plain; text/html goes through the HTML parser; parts with a file name or a non-text type,
// and attached messages (message/rfc822), become Attachments for the caller to ingest as documents
// of their own. MIME nesting is bounded by kMaxMultipartDepth; messages inside messages are
// attachments, so their depth is bounded by ParseOptions::max_nesting_depth in the caller.
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/mime.h"
#include "kb/parse/text_decode.h"

namespace dv::kb::internal {
namespace {

constexpr int kMaxMultipartDepth = 32;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string DecodeTransfer(std::string_view body, std::string_view encoding) {
  std::string enc = Lower(TrimAscii(encoding));
  if (enc == "base64") return DecodeBase64(body);
  if (enc == "quoted-printable") return DecodeQuotedPrintable(body);
  return std::string(body);
}

// Splits a multipart body at "--boundary" delimiter lines. The preamble and epilogue are dropped.
std::vector<std::string_view> SplitMultipart(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  const std::string delimiter = "--" + std::string(boundary);
  size_t pos = 0;
  size_t part_start = std::string_view::npos;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view line = body.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.size() >= delimiter.size() && line.substr(0, delimiter.size()) == delimiter) {
      std::string_view rest = line.substr(delimiter.size());
      if (rest.empty() || rest == "--") {
        if (part_start != std::string_view::npos) {
          // The line break before the delimiter belongs to the delimiter.
          size_t part_end = pos;
          if (part_end > part_start && body[part_end - 1] == '\n') --part_end;
          if (part_end > part_start && body[part_end - 1] == '\r') --part_end;
          parts.push_back(body.substr(part_start, part_end - part_start));
        }
        if (rest == "--") return parts;
        part_start = nl == std::string_view::npos ? body.size() : nl + 1;
      }
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (part_start != std::string_view::npos && part_start < body.size()) {
    parts.push_back(body.substr(part_start));  // unterminated last part: keep what is there
  }
  return parts;
}

class MessageParser {
 public:
  MessageParser(const ParseOptions& options, ParsedDocument& doc) : options_(options), doc_(doc) {}

  Status Message(std::string_view bytes, bool top_level) {
    auto [headers, body] = SplitHeaders(bytes);
    if (headers.fields.empty()) return InvalidArgument("message has no header fields");
    std::string subject = DecodeHeaderValue(headers.Get("subject"));
    std::string from = DecodeHeaderValue(headers.Get("from"));
    std::string to = DecodeHeaderValue(headers.Get("to"));
    std::string cc = DecodeHeaderValue(headers.Get("cc"));
    std::string date = CollapseWhitespace(headers.Get("date"));
    if (top_level) {
      if (!subject.empty()) doc_.metadata["subject"] = subject;
      if (!from.empty()) doc_.metadata["from"] = from;
      if (!to.empty()) doc_.metadata["to"] = to;
      if (!cc.empty()) doc_.metadata["cc"] = cc;
      if (!date.empty()) doc_.metadata["date"] = date;
      std::string id = CollapseWhitespace(headers.Get("message-id"));
      if (!id.empty()) doc_.metadata["message-id"] = id;
      if (doc_.title.empty()) doc_.title = subject;
    }
    if (!subject.empty()) doc_.blocks.push_back(Block{BlockKind::kHeading, 1, subject});
    std::string envelope;
    auto add = [&](std::string_view name, const std::string& value) {
      if (value.empty()) return;
      if (!envelope.empty()) envelope.push_back('\n');
      envelope.append(name).append(": ").append(value);
    };
    add("From", from);
    add("To", to);
    add("Cc", cc);
    add("Date", date);
    if (!envelope.empty()) doc_.blocks.push_back(Block{BlockKind::kParagraph, 0, envelope});
    return Entity(headers, body, 0);
  }

 private:
  Status Entity(const MimeHeaders& headers, std::string_view body, int depth) {
    HeaderWithParams type = ParseHeaderWithParams(headers.Get("content-type"));
    if (type.value.empty()) type.value = "text/plain";
    HeaderWithParams disposition = ParseHeaderWithParams(headers.Get("content-disposition"));
    std::string file_name = disposition.params.count("filename") ? disposition.params["filename"]
                            : type.params.count("name")          ? type.params["name"]
                                                                 : "";
    const std::string_view encoding = headers.Get("content-transfer-encoding");

    if (type.value.rfind("multipart/", 0) == 0) {
      if (depth >= kMaxMultipartDepth) {
        return InvalidArgument("MIME multiparts nested deeper than " + std::to_string(kMaxMultipartDepth) + " levels");
      }
      auto boundary = type.params.find("boundary");
      if (boundary == type.params.end() || boundary->second.empty()) {
        doc_.warnings.push_back("multipart without boundary; body read as text");
        return TextBody(DecodeTransfer(body, encoding), "", false);
      }
      std::vector<std::string_view> parts = SplitMultipart(body, boundary->second);
      if (type.value == "multipart/alternative") return Alternative(parts, depth);
      for (std::string_view part : parts) {
        auto [h, b] = SplitHeaders(part);
        DV_RETURN_IF_ERROR(Entity(h, b, depth + 1));
      }
      return Status::Ok();
    }

    bool is_attachment =
        Lower(disposition.value) == "attachment" || !file_name.empty() || (type.value.rfind("text/", 0) != 0);
    if (is_attachment) {
      if (doc_.attachments.size() >= options_.max_attachments) {
        return ResourceExhausted("message has more than " + std::to_string(options_.max_attachments) + " attachments");
      }
      if (file_name.empty()) {
        file_name = type.value == "message/rfc822" ? "message-" : "attachment-";
        file_name.append(std::to_string(doc_.attachments.size() + 1));
        if (type.value == "message/rfc822") file_name.append(".eml");
      }
      doc_.attachments.push_back(Attachment{file_name, type.value, DecodeTransfer(body, encoding)});
      return Status::Ok();
    }
    return TextBody(DecodeTransfer(body, encoding), type.params["charset"], type.value == "text/html");
  }

  // Chooses one representation: the last text/plain part, else the last part of any kind.
  Status Alternative(const std::vector<std::string_view>& parts, int depth) {
    int chosen = -1;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto [h, b] = SplitHeaders(parts[i]);
      std::string type = ParseHeaderWithParams(h.Get("content-type")).value;
      if (type.empty() || type == "text/plain") chosen = static_cast<int>(i);
    }
    if (chosen < 0 && !parts.empty()) chosen = static_cast<int>(parts.size()) - 1;
    if (chosen < 0) return Status::Ok();
    auto [h, b] = SplitHeaders(parts[static_cast<size_t>(chosen)]);
    return Entity(h, b, depth + 1);
  }

  Status TextBody(const std::string& bytes, std::string_view charset, bool html) {
    DecodedText decoded = DecodeText(bytes, charset);
    if (!doc_.metadata.count("encoding")) doc_.metadata["encoding"] = decoded.encoding;
    if (html) {  // the Subject is the title, not the HTML <title>: parse aside, keep blocks
      ParsedDocument part;
      DV_RETURN_IF_ERROR(ParseHtmlUtf8(decoded.text, options_, part));
      for (Block& b : part.blocks) doc_.blocks.push_back(std::move(b));
      return Status::Ok();
    }
    std::string text;
    text.reserve(decoded.text.size());
    for (size_t i = 0; i < decoded.text.size(); ++i) {
      char c = decoded.text[i];
      if (c == '\r') {
        text.push_back('\n');
        if (i + 1 < decoded.text.size() && decoded.text[i + 1] == '\n') ++i;
      } else {
        text.push_back(c);
      }
    }
    AppendTextParagraphs(text, doc_);
    return Status::Ok();
  }

  const ParseOptions& options_;
  ParsedDocument& doc_;
};

// mboxrd: a body line ">From " (with any number of '>') lost one '>' when it was stored.
std::string UnescapeMboxFromLines(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, end - pos);
    size_t gt = 0;
    while (gt < line.size() && line[gt] == '>') ++gt;
    if (gt > 0 && line.substr(gt, 5) == "From ") line.remove_prefix(1);
    out.append(line);
    pos = end;
  }
  return out;
}

}  // namespace

Status ParseEmail(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_RETURN_IF_ERROR(CheckLineLengths(bytes, options.max_line_bytes));
  // A leading mbox "From " envelope line is not a header field.
  if (bytes.substr(0, 5) == "From ") {
    size_t nl = bytes.find('\n');
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
  }
  return MessageParser(options, doc).Message(bytes, /*top_level=*/true);
}

Status ParseMbox(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_RETURN_IF_ERROR(CheckLineLengths(bytes, options.max_line_bytes));
  // Messages start at "From " lines at the start of the file or after an empty line.
  std::vector<size_t> starts;
  size_t pos = 0;
  bool previous_blank = true;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    size_t end = nl == std::string_view::npos ? bytes.size() : nl;
    std::string_view line = bytes.substr(pos, end - pos);
    if (previous_blank && line.substr(0, 5) == "From ") starts.push_back(pos);
    previous_blank = line.empty() || line == "\r";
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (starts.empty()) return InvalidArgument("not an mbox file: no \"From \" separator line");
  if (starts.size() > options.max_attachments * 100 + 100000) {
    return ResourceExhausted("mbox has " + std::to_string(starts.size()) + " messages");
  }
  MessageParser parser(options, doc);
  size_t parsed = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t end = i + 1 < starts.size() ? starts[i + 1] : bytes.size();
    std::string_view message = bytes.substr(starts[i], end - starts[i]);
    size_t nl = message.find('\n');
    message.remove_prefix(nl == std::string_view::npos ? message.size() : nl + 1);
    Status s = parser.Message(UnescapeMboxFromLines(message), /*top_level=*/false);
    if (!s.ok()) {
      doc.warnings.push_back("message " + std::to_string(i + 1) + ": " + s.message());
      continue;
    }
    ++parsed;
  }
  doc.metadata["messages"] = std::to_string(parsed);
  if (parsed == 0) return InvalidArgument("mbox contains no readable message");
  return Status::Ok();
}

}  // namespace dv::kb::internal
