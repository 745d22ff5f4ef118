// XLSX (SpreadsheetML): every sheet in workbook order; cell values row by row (shared strings,
// inline strings, numbers, booleans, formula results). The first non-empty row of a sheet is its
// header; rows are emitted as tables of at most kRowsPerTable rows, each starting with the header.
// Every block carries the sheet name. Numbers are the stored values (dates stay serial numbers:
// number formats are not applied).
#include <algorithm>
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/ooxml.h"

namespace dv::kb::internal {
namespace {

constexpr size_t kRowsPerTable = 50;
constexpr size_t kMaxColumns = 1024;  // cells further right are dropped with a warning

// Concatenated <t> text of a string item (<si> or <is>), phonetic runs (<rPh>) excluded.
std::string StringItemText(const pugi::xml_node& si) {
  std::string out;
  for (pugi::xml_node c = si.first_child(); c; c = c.next_sibling()) {
    if (Is(c, "t")) {
      out.append(c.text().get());
    } else if (Is(c, "r")) {
      out.append(Child(c, "t").text().get());
    }
  }
  return out;
}

// "BC12" → 54 (0-based column), or -1 when malformed.
long ColumnIndex(std::string_view ref) {
  long col = 0;
  size_t i = 0;
  for (; i < ref.size() && std::isalpha(static_cast<unsigned char>(ref[i])); ++i) {
    col = col * 26 + (std::toupper(static_cast<unsigned char>(ref[i])) - 'A' + 1);
    if (col > 20000) return -1;
  }
  return i == 0 ? -1 : col - 1;
}

}  // namespace

Status ParseXlsx(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(bytes, options));
  if (!zip->Contains("xl/workbook.xml")) {
    return InvalidArgument("not an XLSX file: xl/workbook.xml is missing");
  }
  std::vector<std::string> shared;
  if (zip->Contains("xl/sharedStrings.xml")) {
    DV_ASSIGN_OR_RETURN(auto sst, LoadXmlPart(*zip, "xl/sharedStrings.xml"));
    for (pugi::xml_node si = sst->document_element().first_child(); si; si = si.next_sibling()) {
      if (Is(si, "si")) shared.push_back(CollapseWhitespace(StringItemText(si)));
    }
  }
  DV_ASSIGN_OR_RETURN(auto rels, LoadRelationships(*zip, "xl/workbook.xml"));
  DV_ASSIGN_OR_RETURN(auto workbook, LoadXmlPart(*zip, "xl/workbook.xml"));
  pugi::xml_node sheets = Child(workbook->document_element(), "sheets");
  size_t text_bytes = 0;
  int sheet_count = 0;
  bool warned_columns = false;
  for (pugi::xml_node sheet = sheets.first_child(); sheet; sheet = sheet.next_sibling()) {
    if (!Is(sheet, "sheet")) continue;
    std::string name = CollapseWhitespace(Attr(sheet, "name"));
    auto rel = rels.find(std::string(RelationshipId(sheet)));
    if (rel == rels.end() || !zip->Contains(rel->second)) {
      doc.warnings.push_back("sheet '" + name + "' has no worksheet part");
      continue;
    }
    if (++sheet_count > options.max_pages) {
      return ResourceExhausted("workbook has more than " + std::to_string(options.max_pages) +
                               " sheets");
    }
    DV_ASSIGN_OR_RETURN(auto ws, LoadXmlPart(*zip, rel->second));
    pugi::xml_node data = Child(ws->document_element(), "sheetData");
    std::vector<std::string> rows;
    for (pugi::xml_node row = data.first_child(); row; row = row.next_sibling()) {
      if (!Is(row, "row")) continue;
      std::vector<std::string> cells;
      for (pugi::xml_node c = row.first_child(); c; c = c.next_sibling()) {
        if (!Is(c, "c")) continue;
        long col = Attr(c, "r").empty() ? static_cast<long>(cells.size()) : ColumnIndex(Attr(c, "r"));
        if (col < 0) col = static_cast<long>(cells.size());
        if (static_cast<size_t>(col) >= kMaxColumns) {
          if (!warned_columns) {
            doc.warnings.push_back("cells beyond column " + std::to_string(kMaxColumns) +
                                   " were dropped");
            warned_columns = true;
          }
          continue;
        }
        std::string_view type = Attr(c, "t");
        std::string value;
        if (type == "inlineStr") {
          value = StringItemText(Child(c, "is"));
        } else {
          std::string_view v = Child(c, "v").text().get();
          if (type == "s") {
            size_t idx = static_cast<size_t>(std::strtoull(std::string(v).c_str(), nullptr, 10));
            if (idx < shared.size()) value = shared[idx];
          } else if (type == "b") {
            value = v == "1" ? "TRUE" : "FALSE";
          } else {
            value = std::string(v);
          }
        }
        value = CollapseWhitespace(value);
        for (char& ch : value)
          if (ch == '|') ch = '/';
        if (value.empty()) continue;
        if (cells.size() <= static_cast<size_t>(col)) cells.resize(static_cast<size_t>(col) + 1);
        cells[static_cast<size_t>(col)] = std::move(value);
      }
      if (cells.empty()) continue;
      std::string line;
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i) line.append(" | ");
        line.append(cells[i]);
      }
      text_bytes += line.size();
      if (text_bytes > options.max_decompressed_bytes) {
        return ResourceExhausted("workbook text exceeds " +
                                 std::to_string(options.max_decompressed_bytes) + " bytes");
      }
      rows.push_back(std::move(line));
    }
    doc.blocks.push_back(Block{BlockKind::kHeading, 1, name, 0, name});
    if (rows.empty()) continue;
    const size_t data_rows = rows.size() - 1;
    for (size_t start = 1; start <= std::max<size_t>(data_rows, 1); start += kRowsPerTable) {
      std::string table = rows[0];
      for (size_t r = start; r < rows.size() && r < start + kRowsPerTable; ++r) {
        table.push_back('\n');
        table.append(rows[r]);
      }
      doc.blocks.push_back(Block{BlockKind::kTable, 0, std::move(table), 0, name});
    }
  }
  ReadCoreProperties(*zip, doc);
  return Status::Ok();
}

}  // namespace dv::kb::internal
