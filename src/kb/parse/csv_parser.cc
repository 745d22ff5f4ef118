// CSV (RFC 4180): quoted fields with "" escapes and embedded line breaks, delimiter sniffed among
// ',', '\t', ';' and '|'. The first row is the header; data rows are emitted as tables of at most
// kRowsPerTable rows, each repeating the header so that every chunk stays self-describing.
#include <array>
#include <string>
#include <vector>

#include "kb/parse/formats.h"

namespace dv::kb::internal {
namespace {

constexpr size_t kRowsPerTable = 50;

// The candidate whose per-line count (outside quotes) over the first lines is most consistent.
char SniffDelimiter(std::string_view text) {
  constexpr std::array<char, 4> kCandidates = {',', '\t', ';', '|'};
  char best = ',';
  double best_score = 0;
  for (char d : kCandidates) {
    std::vector<size_t> counts;
    size_t count = 0;
    bool quoted = false;
    for (size_t i = 0; i < text.size() && counts.size() < 20; ++i) {
      char c = text[i];
      if (c == '"') quoted = !quoted;
      if (quoted) continue;
      if (c == d) ++count;
      if (c == '\n') {
        counts.push_back(count);
        count = 0;
      }
    }
    if (count) counts.push_back(count);
    if (counts.empty() || counts[0] == 0) continue;
    size_t consistent = 0;
    for (size_t n : counts) consistent += n == counts[0];
    double score =
        static_cast<double>(consistent) / static_cast<double>(counts.size()) * static_cast<double>(counts[0] + 1);
    if (score > best_score) {
      best_score = score;
      best = d;
    }
  }
  return best;
}

std::string CleanCell(std::string_view cell) {
  std::string out = CollapseWhitespace(cell);
  // " | " separates cells in a kTable block; a literal bar inside a cell would be ambiguous.
  for (char& c : out)
    if (c == '|') c = '/';
  return out;
}

}  // namespace

Status ParseCsv(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(std::string text, DecodeTextInput(bytes, options, doc));
  const char delim = SniffDelimiter(text);
  doc.metadata["delimiter"] = delim == '\t' ? "tab" : std::string(1, delim);

  // Rows are joined as they complete ("a | b | c"), so memory stays proportional to the text
  // (no per-cell objects for a line of a million empty fields).
  std::vector<std::string> rows;
  std::string row;
  size_t cells_in_row = 0;
  size_t header_cells = 0;
  std::string field;
  bool quoted = false;
  bool field_was_quoted = false;
  size_t line = 1;
  size_t quote_line = 0;
  auto end_field = [&] {
    if (cells_in_row++) row.append(" | ");
    row.append(CleanCell(field));
    field.clear();
    field_was_quoted = false;
  };
  auto end_row = [&] {
    end_field();
    bool empty = cells_in_row == 1 && row.empty();
    if (!empty) {
      if (rows.empty()) header_cells = cells_in_row;
      rows.push_back(std::move(row));
    }
    row.clear();
    cells_in_row = 0;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        if (field.size() > options.max_line_bytes) {
          return ResourceExhausted("quoted field starting on line " + std::to_string(quote_line) + " is longer than " +
                                   std::to_string(options.max_line_bytes) + " bytes");
        }
        field.push_back(c);
      }
    } else if (c == '"' && field.empty() && !field_was_quoted) {
      quoted = true;
      field_was_quoted = true;
      quote_line = line;
    } else if (c == delim) {
      end_field();
    } else if (c == '\n') {
      ++line;
      end_row();
    } else {
      field.push_back(c);  // a stray quote inside an unquoted field is kept literally
    }
  }
  if (quoted) {
    return InvalidArgument("unterminated quoted field starting on line " + std::to_string(quote_line));
  }
  if (!field.empty() || cells_in_row > 0) end_row();
  if (rows.empty()) return Status::Ok();

  const std::string& header = rows[0];
  doc.metadata["columns"] = std::to_string(header_cells);
  doc.metadata["rows"] = std::to_string(rows.size() - 1);
  if (rows.size() == 1) {
    doc.blocks.push_back(Block{BlockKind::kTable, 0, header});
    return Status::Ok();
  }
  for (size_t start = 1; start < rows.size(); start += kRowsPerTable) {
    std::string table = header;
    for (size_t r = start; r < rows.size() && r < start + kRowsPerTable; ++r) {
      table.push_back('\n');
      table.append(rows[r]);
    }
    doc.blocks.push_back(Block{BlockKind::kTable, 0, std::move(table)});
  }
  return Status::Ok();
}

}  // namespace dv::kb::internal
