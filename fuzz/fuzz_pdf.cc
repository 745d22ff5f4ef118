// libFuzzer target: arbitrary bytes through the PDF parser (poppler), OCR off.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kb/parse/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dv::kb::ParseOptions options;
  options.enable_ocr = false;
  options.max_pages = 50;
  auto doc = dv::kb::ParseDocumentAs(dv::kb::DocumentType::kPdf, "fuzz.pdf",
                                     std::string_view(reinterpret_cast<const char*>(data), size), options);
  doc.status().IgnoreError();
  return 0;
}
