// libFuzzer target: arbitrary bytes through the ZIP reader and the DOCX, XLSX, PPTX and .zip
// parsers (the first byte picks the parser, the rest is the file), with small inflate limits so
// that bombs are caught quickly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kb/parse/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr dv::kb::DocumentType kTypes[] = {dv::kb::DocumentType::kDocx, dv::kb::DocumentType::kXlsx,
                                                    dv::kb::DocumentType::kPptx, dv::kb::DocumentType::kZip};
  dv::kb::ParseOptions options;
  options.max_decompressed_bytes = 64 << 20;
  auto doc = dv::kb::ParseDocumentAs(kTypes[data[0] % 4], "fuzz",
                                     std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), options);
  doc.status().IgnoreError();
  return 0;
}
