#include "kb/parse/parser.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "common/utf8.h"
#include "kb/parse/formats.h"

namespace dv::kb {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ExtensionOf(std::string_view file_name) {
  size_t slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return LowerAscii(file_name.substr(dot + 1));
}

std::string StemOf(std::string_view file_name) {
  size_t slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) file_name = file_name.substr(0, dot);
  return utf8::Sanitize(file_name);
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

DocumentType TypeFromExtension(const std::string& ext) {
  if (ext == "txt" || ext == "text" || ext == "log") return DocumentType::kPlainText;
  if (ext == "md" || ext == "markdown" || ext == "mdown" || ext == "mkd") {
    return DocumentType::kMarkdown;
  }
  if (ext == "html" || ext == "htm" || ext == "xhtml") return DocumentType::kHtml;
  if (ext == "pdf") return DocumentType::kPdf;
  if (ext == "docx") return DocumentType::kDocx;
  if (ext == "xlsx") return DocumentType::kXlsx;
  if (ext == "pptx") return DocumentType::kPptx;
  if (ext == "zip") return DocumentType::kZip;
  if (ext == "csv" || ext == "tsv") return DocumentType::kCsv;
  if (ext == "json") return DocumentType::kJson;
  if (ext == "eml") return DocumentType::kEmail;
  if (ext == "mbox" || ext == "mbx") return DocumentType::kMbox;
  return DocumentType::kUnknown;
}

// True when the first lines look like RFC 5322 header fields ("Name: value").
bool LooksLikeMailHeaders(std::string_view head) {
  static constexpr std::string_view kKnown[] = {
      "from:",         "to:",       "subject:",     "date:",         "message-id:",
      "mime-version:", "received:", "return-path:", "content-type:", "cc:"};
  int known = 0;
  size_t pos = 0;
  for (int line = 0; line < 40 && pos < head.size(); ++line) {
    size_t nl = head.find('\n', pos);
    std::string_view l = head.substr(pos, nl == std::string_view::npos ? head.npos : nl - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) break;
    if (l[0] != ' ' && l[0] != '\t') {
      size_t colon = l.find(':');
      if (colon == std::string_view::npos || colon == 0) return false;
      for (char c : l.substr(0, colon))
        if (c <= ' ' || c > '~') return false;
      std::string name = LowerAscii(l.substr(0, colon + 1));
      for (std::string_view k : kKnown) known += name == k;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return known >= 2;
}

bool LooksLikeText(std::string_view head) {
  if (StartsWith(head, "\xFF\xFE") || StartsWith(head, "\xFE\xFF") || StartsWith(head, "\xEF\xBB\xBF")) {
    return true;
  }
  return head.find('\0') == std::string_view::npos;
}

std::string_view SkipLeadingSpace(std::string_view s) {
  if (StartsWith(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s[0]))) s.remove_prefix(1);
  return s;
}

}  // namespace

DocumentType DetectDocumentType(std::string_view file_name, std::string_view bytes) {
  const std::string ext = ExtensionOf(file_name);
  const DocumentType by_ext = TypeFromExtension(ext);
  std::string_view head = bytes.substr(0, 8192);

  // Strong magic numbers override the name.
  // "%PDF-" may follow up to 1 KiB of junk (PDF readers accept that), but a text file that merely
  // mentions "%PDF-" is not a PDF: past offset 0 the name has to agree.
  if (StartsWith(bytes, "%PDF-")) return DocumentType::kPdf;
  if (by_ext == DocumentType::kPdf && head.substr(0, 1024).find("%PDF-") != std::string_view::npos) {
    return DocumentType::kPdf;
  }
  if (StartsWith(bytes, "PK\x03\x04") || StartsWith(bytes, "PK\x05\x06")) {
    if (by_ext == DocumentType::kDocx || by_ext == DocumentType::kXlsx || by_ext == DocumentType::kPptx) {
      return by_ext;
    }
    // Local file headers store member names uncompressed; OOXML's main parts give the type.
    std::string_view scan = bytes.substr(0, 1 << 20);
    if (scan.find("word/document.xml") != std::string_view::npos) return DocumentType::kDocx;
    if (scan.find("xl/workbook.xml") != std::string_view::npos) return DocumentType::kXlsx;
    if (scan.find("ppt/presentation.xml") != std::string_view::npos) return DocumentType::kPptx;
    return DocumentType::kZip;
  }
  if (!LooksLikeText(head)) return DocumentType::kUnknown;
  if (by_ext != DocumentType::kUnknown && by_ext != DocumentType::kPdf && by_ext != DocumentType::kDocx &&
      by_ext != DocumentType::kXlsx && by_ext != DocumentType::kPptx && by_ext != DocumentType::kZip) {
    return by_ext;
  }

  // Weak content sniffing for text without a known extension.
  std::string_view lead = SkipLeadingSpace(head);
  std::string lower_lead = LowerAscii(lead.substr(0, 64));
  if (StartsWith(lower_lead, "<!doctype html") || StartsWith(lower_lead, "<html")) {
    return DocumentType::kHtml;
  }
  if (StartsWith(bytes, "From ") && LooksLikeMailHeaders(head.substr(head.find('\n') + 1))) {
    return DocumentType::kMbox;
  }
  if (LooksLikeMailHeaders(head)) return DocumentType::kEmail;
  if (!lead.empty() && (lead[0] == '{' || lead[0] == '[')) return DocumentType::kJson;
  return DocumentType::kPlainText;
}

std::string_view MimeTypeOf(DocumentType type) {
  switch (type) {
    case DocumentType::kPlainText:
      return "text/plain";
    case DocumentType::kMarkdown:
      return "text/markdown";
    case DocumentType::kHtml:
      return "text/html";
    case DocumentType::kPdf:
      return "application/pdf";
    case DocumentType::kDocx:
      return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    case DocumentType::kXlsx:
      return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    case DocumentType::kPptx:
      return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    case DocumentType::kZip:
      return "application/zip";
    case DocumentType::kCsv:
      return "text/csv";
    case DocumentType::kJson:
      return "application/json";
    case DocumentType::kEmail:
      return "message/rfc822";
    case DocumentType::kMbox:
      return "application/mbox";
    case DocumentType::kUnknown:
      break;
  }
  return "application/octet-stream";
}

std::string_view DocumentTypeName(DocumentType type) {
  switch (type) {
    case DocumentType::kPlainText:
      return "text";
    case DocumentType::kMarkdown:
      return "markdown";
    case DocumentType::kHtml:
      return "html";
    case DocumentType::kPdf:
      return "pdf";
    case DocumentType::kDocx:
      return "docx";
    case DocumentType::kXlsx:
      return "xlsx";
    case DocumentType::kPptx:
      return "pptx";
    case DocumentType::kZip:
      return "zip";
    case DocumentType::kCsv:
      return "csv";
    case DocumentType::kJson:
      return "json";
    case DocumentType::kEmail:
      return "email";
    case DocumentType::kMbox:
      return "mbox";
    case DocumentType::kUnknown:
      break;
  }
  return "unknown";
}

Result<ParsedDocument> ParseDocumentAs(DocumentType type, std::string_view file_name, std::string_view bytes,
                                       const ParseOptions& options) {
  const std::string name = utf8::Sanitize(file_name);
  if (bytes.size() > options.max_input_bytes) {
    return ResourceExhausted(name + ": file is " + std::to_string(bytes.size()) + " bytes, above the limit of " +
                             std::to_string(options.max_input_bytes));
  }
  if (options.nesting_depth > options.max_nesting_depth) {
    return ResourceExhausted(name + ": nested " + std::to_string(options.nesting_depth) +
                             " levels deep inside other documents (limit " + std::to_string(options.max_nesting_depth) +
                             ")");
  }
  ParsedDocument doc;
  doc.mime_type = std::string(MimeTypeOf(type));
  Status status;
  switch (type) {
    case DocumentType::kPlainText:
      status = internal::ParsePlainText(bytes, options, doc);
      break;
    case DocumentType::kMarkdown:
      status = internal::ParseMarkdown(bytes, options, doc);
      break;
    case DocumentType::kHtml:
      status = internal::ParseHtml(bytes, options, doc);
      break;
    case DocumentType::kPdf:
      status = internal::ParsePdf(bytes, options, doc);
      break;
    case DocumentType::kDocx:
      status = internal::ParseDocx(bytes, options, doc);
      break;
    case DocumentType::kXlsx:
      status = internal::ParseXlsx(bytes, options, doc);
      break;
    case DocumentType::kPptx:
      status = internal::ParsePptx(bytes, options, doc);
      break;
    case DocumentType::kZip:
      status = internal::ParseZipArchive(bytes, options, doc);
      break;
    case DocumentType::kCsv:
      status = internal::ParseCsv(bytes, options, doc);
      break;
    case DocumentType::kJson:
      status = internal::ParseJson(bytes, options, doc);
      break;
    case DocumentType::kEmail:
      status = internal::ParseEmail(bytes, options, doc);
      break;
    case DocumentType::kMbox:
      status = internal::ParseMbox(bytes, options, doc);
      break;
    case DocumentType::kUnknown:
      if (StartsWith(bytes, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) {
        status = Unimplemented(
            "legacy binary Office file (.doc/.xls/.ppt) is not supported; save it as "
            ".docx/.xlsx/.pptx");
      } else {
        status = Unimplemented("unsupported file type (not text, PDF, OOXML, ZIP, CSV, JSON or mail)");
      }
      break;
  }
  if (!status.ok()) return std::move(status).AddContext(name);
  // Parsers produce UTF-8 already; this guards the contract against a library handing us junk.
  for (Block& b : doc.blocks) {
    if (!utf8::IsValid(b.text)) b.text = utf8::Sanitize(b.text);
    if (!utf8::IsValid(b.sheet)) b.sheet = utf8::Sanitize(b.sheet);
  }
  if (!utf8::IsValid(doc.title)) doc.title = utf8::Sanitize(doc.title);
  for (auto& [key, value] : doc.metadata) {
    if (!utf8::IsValid(value)) value = utf8::Sanitize(value);
  }
  if (doc.title.empty()) doc.title = StemOf(name);
  return doc;
}

Result<ParsedDocument> ParseDocument(std::string_view file_name, std::string_view bytes, const ParseOptions& options) {
  return ParseDocumentAs(DetectDocumentType(file_name, bytes), file_name, bytes, options);
}

}  // namespace dv::kb
