// libFuzzer target: arbitrary bytes through the text-based parsers — charset detection, plain
// text, Markdown, HTML (gumbo and the nesting pre-check), CSV and JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kb/parse/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto type : {dv::kb::DocumentType::kPlainText, dv::kb::DocumentType::kMarkdown, dv::kb::DocumentType::kHtml,
                    dv::kb::DocumentType::kCsv, dv::kb::DocumentType::kJson}) {
    auto doc = dv::kb::ParseDocumentAs(type, "fuzz", bytes);
    doc.status().IgnoreError();
  }
  return 0;
}
