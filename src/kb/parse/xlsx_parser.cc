// XLSX (SpreadsheetML): every sheet in workbook order; cell values row by row (shared strings,
// inline strings, numbers, booleans, formula results). The first non-empty row of a sheet is its
// header; rows are emitted as tables of at most kRowsPerTable rows, each starting with the header.
// Every block carries the sheet name. Numbers are the stored values; cells whose number format is
// a date or time are shown as ISO dates (2024-03-01, 2024-03-01 09:30).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
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

// True when an Excel number format shows a date or time (quoted text and [..] sections ignored).
bool IsDateFormat(long id, std::string_view code) {
  if ((id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) || (id >= 50 && id <= 58)) {
    return true;  // built-in date/time formats (ECMA-376 Part 1, 18.8.30; 27–36, 50–58 are CJK)
  }
  bool quoted = false;
  int bracket = 0;
  bool date = false;
  for (char c : code) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '[') ++bracket;
    if (c == ']' && bracket > 0) --bracket;
    if (bracket) continue;
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == 'y' || l == 'd' || l == 'h' || l == 's') date = true;
    if (l == '0' || l == '#') return false;  // a number format with literal letters
  }
  return date;
}

// Cell style index → true when the style's number format is a date.
std::vector<bool> LoadDateStyles(ZipReader& zip, ParsedDocument& doc) {
  std::vector<bool> date_styles;
  if (!zip.Contains("xl/styles.xml")) return date_styles;
  auto xml = LoadXmlPart(zip, "xl/styles.xml");
  if (!xml.ok()) {
    doc.warnings.push_back(xml.status().message());
    return date_styles;
  }
  std::map<long, std::string> custom;
  pugi::xml_node root = (*xml)->document_element();
  for (pugi::xml_node f = Child(root, "numFmts").first_child(); f; f = f.next_sibling()) {
    if (Is(f, "numFmt")) custom[AttrInt(f, "numFmtId", -1)] = Attr(f, "formatCode");
  }
  for (pugi::xml_node xf = Child(root, "cellXfs").first_child(); xf; xf = xf.next_sibling()) {
    if (!Is(xf, "xf")) continue;
    long id = AttrInt(xf, "numFmtId", -1);
    auto it = custom.find(id);
    date_styles.push_back(IsDateFormat(id, it == custom.end() ? "" : it->second));
  }
  return date_styles;
}

// Excel serial day number → "YYYY-MM-DD" (plus " HH:MM[:SS]" when there is a time of day).
// Serials count days from 1899-12-30 (1904-01-01 in 1904-based workbooks); serials below 61 skip
// Excel's phantom 1900-02-29.
std::string SerialToDate(double serial, bool date1904) {
  if (!(serial >= 0 && serial < 2958466)) return {};  // beyond 9999-12-31: not a date
  long days = static_cast<long>(serial);
  double fraction = serial - static_cast<double>(days);
  long seconds = std::lround(fraction * 86400.0);
  if (seconds >= 86400) {
    ++days;
    seconds -= 86400;
  }
  // Days since 1970-01-01.
  long z = date1904 ? days - 24107 : days - 25569;
  if (!date1904 && days < 61) z += 1;
  // Civil date from a day count (proleptic Gregorian calendar, era-based arithmetic).
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const long doe = z - era * 146097;
  const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long mp = (5 * doy + 2) / 153;
  const long d = doy - (153 * mp + 2) / 5 + 1;
  const long m = mp < 10 ? mp + 3 : mp - 9;
  const long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[128];
  if (seconds == 0) {
    std::snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld", y, m, d);
  } else if (seconds % 60 == 0) {
    std::snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld %02ld:%02ld", y, m, d, seconds / 3600, seconds / 60 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld %02ld:%02ld:%02ld", y, m, d, seconds / 3600, seconds / 60 % 60,
                  seconds % 60);
  }
  return buf;
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
  const std::string_view date1904_attr = Attr(Child(workbook->document_element(), "workbookPr"), "date1904");
  const bool date1904 = date1904_attr == "1" || date1904_attr == "true";
  const std::vector<bool> date_styles = LoadDateStyles(*zip, doc);
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
      return ResourceExhausted("workbook has more than " + std::to_string(options.max_pages) + " sheets");
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
            doc.warnings.push_back("cells beyond column " + std::to_string(kMaxColumns) + " were dropped");
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
            size_t idx = SIZE_MAX;
            std::from_chars(v.data(), v.data() + v.size(), idx);
            if (idx < shared.size()) value = shared[idx];
          } else if (type == "b") {
            value = v == "1" ? "TRUE" : "FALSE";
          } else {
            value = std::string(v);
            size_t style = static_cast<size_t>(AttrInt(c, "s"));
            if ((type.empty() || type == "n") && !value.empty() && style < date_styles.size() && date_styles[style]) {
              char* end = nullptr;
              double serial = std::strtod(value.c_str(), &end);
              std::string date = end && *end == '\0' ? SerialToDate(serial, date1904) : "";
              if (!date.empty()) value = std::move(date);
            }
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
        return ResourceExhausted("workbook text exceeds " + std::to_string(options.max_decompressed_bytes) + " bytes");
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
