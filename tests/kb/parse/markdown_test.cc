#include <gtest/gtest.h>

#include "kb/parse/parse_test_util.h"
#include "kb/parse/parser.h"

namespace dv::kb {
namespace {

using testing::DescribeBlocks;
using ::testing::ElementsAre;

TEST(MarkdownParse, HeadingsParagraphsListsCodeTablesQuotes) {
  const char* md =
      "---\n"
      "bookHidden: true\n"
      "---\n"
      "\n"
      "# 中华人民共和国民法典 <!-- 注释 -->\n"
      "\n"
      "Setext Title\n"
      "============\n"
      "\n"
      "Some **bold** and *em* text with [a link](http://x.org/a_b) and `co*de`.\n"
      "Second line of the same paragraph.\n"
      "\n"
      "- item one\n"
      "  continued\n"
      "- item two\n"
      "  1. nested first\n"
      "  2. nested ![alt text](img.png)\n"
      "- item three\n"
      "\n"
      "```cpp\n"
      "int main() {\n"
      "  return 0;\n"
      "}\n"
      "```\n"
      "\n"
      "| 条 | 内容 |\n"
      "|---|:---:|\n"
      "| 第一条 | 为了保护 \\| 民事主体 |\n"
      "| 第二条 | 调整 |\n"
      "\n"
      "> quoted *text*\n"
      "> more\n"
      "\n"
      "Sub heading\n"
      "-----------\n"
      "\n"
      "    indented code\n"
      "\n"
      "### Closing hashes ###\n";
  auto doc = ParseDocument("law.md", md);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(
      DescribeBlocks(*doc),
      ElementsAre("H1 中华人民共和国民法典", "H1 Setext Title",
                  "P Some bold and em text with a link and co*de.\n"
                  "Second line of the same paragraph.",
                  "L1 item one\ncontinued", "L1 item two", "L2 nested first", "L2 nested alt text", "L1 item three",
                  "C int main() {\n  return 0;\n}", "T 条 | 内容\n第一条 | 为了保护 | 民事主体\n第二条 | 调整",
                  "Q quoted text\nmore", "H2 Sub heading", "C indented code", "H3 Closing hashes"));
  EXPECT_EQ(doc->title, "中华人民共和国民法典");
  EXPECT_EQ(doc->metadata.at("bookHidden"), "true");
  EXPECT_EQ(doc->mime_type, "text/markdown");
}

TEST(MarkdownParse, MultiLineCommentsAndEscapesAndEntities) {
  auto doc = ParseDocument("a.md", "<!--\nhidden\n-->\nA \\*literal\\* star &amp; 5 * 3 &#20320; snake_case_name\n");
  ASSERT_TRUE(doc.ok());
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("P A *literal* star & 5 * 3 你 snake_case_name"));
  EXPECT_EQ(doc->title, "a");
}

TEST(MarkdownParse, PathologicalBracketsStayLinear) {
  std::string md(200000, '[');
  md += std::string(200000, '`');
  auto doc = ParseDocument("evil.md", md);
  ASSERT_TRUE(doc.ok());
  ASSERT_EQ(doc->blocks.size(), 1u);
}

}  // namespace
}  // namespace dv::kb
