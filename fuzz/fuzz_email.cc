// libFuzzer target: arbitrary bytes through the e-mail (.eml) and mbox parsers, which also drive
// MIME decoding, charset conversion and the HTML parser for HTML bodies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kb/parse/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto type : {dv::kb::DocumentType::kEmail, dv::kb::DocumentType::kMbox}) {
    auto doc = dv::kb::ParseDocumentAs(type, "fuzz", bytes);
    doc.status().IgnoreError();
  }
  return 0;
}
