// Internal: one entry point per format, called by ParseDocumentAs (parser.cc) after the input
// size and nesting depth were checked. Each takes the raw bytes of its whole input and fills
// `doc` (mime_type and the file-name fallback title are set by the caller).
#pragma once

#include <string_view>

#include "deepvault/status.h"
#include "kb/parse/document.h"
#include "kb/parse/parser.h"

namespace dv::kb::internal {

Status ParsePlainText(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseMarkdown(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseHtml(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParsePdf(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseDocx(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseXlsx(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParsePptx(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseZipArchive(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseCsv(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseJson(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseEmail(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
Status ParseMbox(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);

// HTML already decoded to UTF-8 (mail bodies): appends its blocks to `doc`, sets doc.title from
// <title> when doc.title is empty.
Status ParseHtmlUtf8(std::string_view html, const ParseOptions& options, ParsedDocument& doc);

// Splits UTF-8 text (LF line ends) into paragraphs at blank lines and appends them to `doc`.
void AppendTextParagraphs(std::string_view text, ParsedDocument& doc);

// Decodes `bytes` to UTF-8 (text_decode.h), records the encoding in doc.metadata["encoding"],
// normalises line ends to '\n' and refuses lines longer than options.max_line_bytes.
Result<std::string> DecodeTextInput(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc);
// ResourceExhausted when a line of `text` is longer than `max_line_bytes`.
Status CheckLineLengths(std::string_view text, size_t max_line_bytes);

// Whitespace helpers shared by the parsers.
std::string_view TrimAscii(std::string_view s);
// Collapses runs of whitespace (ASCII and U+3000/U+00A0) to one space and trims the ends.
std::string CollapseWhitespace(std::string_view s);

}  // namespace dv::kb::internal
