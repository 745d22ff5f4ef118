#include <gtest/gtest.h>

#include "kb/parse/parse_test_util.h"
#include "kb/parse/parser.h"
#include "kb/parse/text_decode.h"
#include "test_util.h"

namespace dv::kb {
namespace {

using testing::DescribeBlocks;
using ::testing::ElementsAre;

TEST(TextParse, SplitsParagraphsAtBlankLinesAndKeepsLineBreaks) {
  auto doc = ParseDocument("notes.txt", "第一条 总则\r\n适用范围。\r\n\r\n  \r\nSecond paragraph.  \n");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("P 第一条 总则\n适用范围。", "P Second paragraph."));
  EXPECT_EQ(doc->title, "notes");
  EXPECT_EQ(doc->mime_type, "text/plain");
  EXPECT_EQ(doc->metadata.at("encoding"), "UTF-8");
}

TEST(TextParse, RefusesHugeLines) {
  ParseOptions options;
  options.max_line_bytes = 100;
  std::string text = "short\n" + std::string(101, 'x') + "\n";
  auto doc = ParseDocument("big.txt", text, options);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(doc.status().Describe(), "big.txt: line 2 is 101 bytes long (limit 100)");
}

TEST(TextParse, RefusesOversizedInputAndDeepNesting) {
  ParseOptions options;
  options.max_input_bytes = 4;
  auto doc = ParseDocument("a.txt", "hello", options);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kResourceExhausted);
  options = {};
  options.nesting_depth = 5;
  auto nested = ParseDocument("a.txt", "hello", options);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().code(), StatusCode::kResourceExhausted);
}

TEST(TextDecode, Utf8WithBom) {
  DecodedText d = DecodeText("\xEF\xBB\xBF中文");
  EXPECT_EQ(d.text, "中文");
  EXPECT_EQ(d.encoding, "UTF-8");
}

}  // namespace
}  // namespace dv::kb
