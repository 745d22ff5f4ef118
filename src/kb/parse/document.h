// The parsed form of one source document: what every parser (src/kb/parse/) produces and what the
// chunker (src/kb/ingest/) consumes. Text is always valid UTF-8.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dv::kb {

enum class BlockKind {
  kHeading,    // `level` 1..6; `text` is the heading text
  kParagraph,  // running text
  kListItem,   // one list item; `level` is the nesting depth (1 = top)
  kCode,       // preformatted text, kept verbatim
  kTable,      // one table, rows separated by '\n', cells by " | " (Markdown-like)
  kQuote,      // block quote
};

struct Block {
  BlockKind kind = BlockKind::kParagraph;
  int level = 0;
  std::string text;
  int page = 0;       // 1-based page (PDF) or slide (PPTX); 0 when the format has no pages
  std::string sheet;  // XLSX sheet / PPTX slide title, when known
};

// A file found inside the document (e-mail attachment) to be ingested as a document of its own,
// linked to its parent.
struct Attachment {
  std::string file_name;
  std::string content_type;
  std::string bytes;
};

struct ParsedDocument {
  std::string title;                            // best-effort: <title>, first heading, Subject:, file name
  std::string mime_type;                        // detected type, e.g. "application/pdf"
  std::map<std::string, std::string> metadata;  // author, date, from, to, subject, encoding, …
  std::vector<Block> blocks;
  std::vector<Attachment> attachments;
  std::vector<std::string> warnings;  // e.g. "page 3 has no text layer (scanned?)"
};

}  // namespace dv::kb
