// Formats whose parsers are still being written answer Unimplemented. Removed as each lands.
#include "kb/parse/formats.h"

namespace dv::kb::internal {
#define DV_NOT_YET(Fn, what)                                                     \
  Status Fn(std::string_view, const ParseOptions&, ParsedDocument&) {            \
    return Unimplemented(what " documents are not supported yet");                \
  }
DV_NOT_YET(ParseHtml, "HTML")
DV_NOT_YET(ParsePdf, "PDF")
DV_NOT_YET(ParseDocx, "DOCX")
DV_NOT_YET(ParseXlsx, "XLSX")
DV_NOT_YET(ParsePptx, "PPTX")
DV_NOT_YET(ParseZipArchive, "ZIP")
DV_NOT_YET(ParseCsv, "CSV")
DV_NOT_YET(ParseJson, "JSON")
DV_NOT_YET(ParseEmail, "e-mail")
DV_NOT_YET(ParseMbox, "mbox")
}  // namespace dv::kb::internal
