// Prints what ParseDocument extracts from files: one line per block (see parse_test_util.h),
// then metadata, warnings and attachments. A developer tool for writing parser tests and for
// replaying fuzzer findings:  kb_parse_dump FILE...
#include <fstream>
#include <iostream>
#include <sstream>

#include "kb/parse/parse_test_util.h"
#include "kb/parse/parser.h"

int main(int argc, char** argv) {
  int rc = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto doc = dv::kb::ParseDocument(argv[i], ss.str());
    std::cout << "== " << argv[i] << "\n";
    if (!doc.ok()) {
      std::cout << "ERROR " << doc.status().ToString() << "\n";
      rc = 1;
      continue;
    }
    std::cout << "title: " << doc->title << "\nmime: " << doc->mime_type << "\n";
    for (const auto& [k, v] : doc->metadata) std::cout << "meta " << k << " = " << v << "\n";
    for (const auto& b : doc->blocks) std::cout << dv::kb::testing::Describe(b) << "\n--\n";
    for (const auto& w : doc->warnings) std::cout << "WARN " << w << "\n";
    for (const auto& a : doc->attachments) {
      std::cout << "ATTACH " << a.file_name << " (" << a.content_type << ", " << a.bytes.size() << " bytes)\n";
    }
  }
  return rc;
}
