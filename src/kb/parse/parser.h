// ParseDocument: turns the bytes of one file into a ParsedDocument (document.h).
//
// Type detection looks at magic bytes first (%PDF-, PK\3\4 + OOXML part names, UTF BOMs, "From "
// mbox lines, RFC 5322 headers, "<html"/"<!doctype html", JSON's first character) and at the file
// name's extension second, so a misnamed file is still parsed by the right parser.
//
// Every parser treats its input as hostile: sizes, nesting, line lengths, decompressed bytes and
// page counts are bounded by ParseOptions, and a violation ends the parse with a specific error
// (InvalidArgument for malformed input, ResourceExhausted for a limit, Unimplemented for a type we
// do not read). A parse never crashes, never hangs and never allocates without bound.
//
// Thread safety: ParseDocument is reentrant; distinct calls may run on different threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "deepvault/status.h"
#include "kb/parse/document.h"

namespace dv::kb {

struct ParseOptions {
  // Inputs larger than this are refused before any parsing (ResourceExhausted).
  size_t max_input_bytes = size_t{256} << 20;
  // Total bytes inflated from all members of one ZIP container (OOXML, .zip), counted while
  // inflating; sizes declared in headers are not trusted.
  uint64_t max_decompressed_bytes = uint64_t{512} << 20;
  // Inflated bytes / compressed bytes of one member above this ratio (once the member has inflated
  // past 1 MiB) is treated as a zip bomb.
  double max_compression_ratio = 200.0;
  // Depth of this document inside containers: 0 for a file given by the user, parent + 1 for an
  // attachment or archive member. Callers ingesting attachments pass the parent's depth + 1.
  int nesting_depth = 0;
  // Documents nested deeper than this (message/rfc822 inside mail, archives in archives) are refused.
  int max_nesting_depth = 4;
  // A line of text (plain text, Markdown, CSV, mail) longer than this is refused.
  size_t max_line_bytes = size_t{1} << 20;
  // More attachments / archive members than this in one document are refused.
  size_t max_attachments = 1000;
  // Pages (PDF) or slides (PPTX) beyond this are refused.
  int max_pages = 5000;
  // JSON nesting deeper than this is refused.
  int max_json_depth = 64;
  // Run OCR (tesseract, when installed) on PDF pages that have no text layer.
  bool enable_ocr = true;
  std::string ocr_languages = "chi_sim+eng";
  // OCR costs seconds per page; at most this many pages of one document are recognised.
  int max_ocr_pages = 100;
};

enum class DocumentType {
  kUnknown,
  kPlainText,
  kMarkdown,
  kHtml,
  kPdf,
  kDocx,
  kXlsx,
  kPptx,
  kZip,
  kCsv,
  kJson,
  kEmail,  // one RFC 5322 message (.eml)
  kMbox,   // many messages, each starting with a "From " line
};

// Detects the type of `bytes` (magic first, then `file_name`'s extension). Never fails:
// kUnknown when nothing matches and the bytes are not text.
DocumentType DetectDocumentType(std::string_view file_name, std::string_view bytes);

// "text/plain", "application/pdf", ... for `type`.
std::string_view MimeTypeOf(DocumentType type);
// Short lower-case name: "text", "markdown", "pdf", ...
std::string_view DocumentTypeName(DocumentType type);

// Parses one document. `file_name` is used for type detection and as the fallback title; it is
// never opened. Errors name the file and the problem, e.g.
//   "contract.docx: ZIP member word/document.xml inflates beyond the ratio limit (zip bomb?)".
Result<ParsedDocument> ParseDocument(std::string_view file_name, std::string_view bytes,
                                     const ParseOptions& options = {});

// Parses `bytes` as `type`, skipping detection.
Result<ParsedDocument> ParseDocumentAs(DocumentType type, std::string_view file_name, std::string_view bytes,
                                       const ParseOptions& options = {});

}  // namespace dv::kb
