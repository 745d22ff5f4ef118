// Helpers for parser tests: render a ParsedDocument's blocks as one line each so that tests can
// compare the whole structure at once ("H1 Title", "P text", "L2 item", "C code", "T a | b", "Q q").
#pragma once

#include <gmock/gmock.h>

#include <string>
#include <vector>

#include "kb/parse/document.h"

namespace dv::kb::testing {

inline std::string Describe(const Block& b) {
  std::string out;
  switch (b.kind) {
    case BlockKind::kHeading:
      out = "H";
      break;
    case BlockKind::kParagraph:
      out = "P";
      break;
    case BlockKind::kListItem:
      out = "L";
      break;
    case BlockKind::kCode:
      out = "C";
      break;
    case BlockKind::kTable:
      out = "T";
      break;
    case BlockKind::kQuote:
      out = "Q";
      break;
  }
  if (b.kind == BlockKind::kHeading || b.kind == BlockKind::kListItem) {
    out.append(std::to_string(b.level));
  }
  if (b.page) out.append("@").append(std::to_string(b.page));
  if (!b.sheet.empty()) out.append("[").append(b.sheet).append("]");
  out.append(" ").append(b.text);
  return out;
}

inline std::vector<std::string> DescribeBlocks(const ParsedDocument& doc) {
  std::vector<std::string> out;
  for (const Block& b : doc.blocks) out.push_back(Describe(b));
  return out;
}

}  // namespace dv::kb::testing
