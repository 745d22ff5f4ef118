// Helpers for parser tests: render a ParsedDocument's blocks as one line each so that tests can
// compare the whole structure at once ("H1 Title", "P text", "L2 item", "C code", "T a | b", "Q q").
#pragma once

#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "kb/parse/document.h"

namespace dv::kb::testing {

inline std::string Describe(const Block& b) {
  std::string tag;
  switch (b.kind) {
    case BlockKind::kHeading: tag = "H" + std::to_string(b.level); break;
    case BlockKind::kParagraph: tag = "P"; break;
    case BlockKind::kListItem: tag = "L" + std::to_string(b.level); break;
    case BlockKind::kCode: tag = "C"; break;
    case BlockKind::kTable: tag = "T"; break;
    case BlockKind::kQuote: tag = "Q"; break;
  }
  if (b.page) tag += "@" + std::to_string(b.page);
  if (!b.sheet.empty()) tag += "[" + b.sheet + "]";
  return tag + " " + b.text;
}

inline std::vector<std::string> DescribeBlocks(const ParsedDocument& doc) {
  std::vector<std::string> out;
  for (const Block& b : doc.blocks) out.push_back(Describe(b));
  return out;
}

}  // namespace dv::kb::testing
