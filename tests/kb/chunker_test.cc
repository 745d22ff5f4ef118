// Chunker: offsets, heading boundaries, token budget, sentence boundaries, overlap, pages.
#include "kb/ingest/chunker.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace dv::kb {
namespace {

Block Heading(int level, std::string text) { return Block{BlockKind::kHeading, level, std::move(text), 0, ""}; }
Block Para(std::string text, int page = 0) { return Block{BlockKind::kParagraph, 0, std::move(text), page, ""}; }

std::string Slice(const std::string& text, int64_t begin, int64_t end) {
  std::u32string cps = utf8::ToCodePoints(text);
  return utf8::FromCodePoints(cps.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin)));
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(KbChunkerTest, TokenEstimate) {
  EXPECT_DOUBLE_EQ(EstimateTokens("合同法"), 3);
  EXPECT_DOUBLE_EQ(EstimateTokens("hello world"), 2.6);
  EXPECT_DOUBLE_EQ(EstimateTokens("第3条。"), 2 + 1.3 + 0.5);
}

TEST(KbChunkerTest, OffsetsLocateEveryChunkExactly) {
  ParsedDocument doc;
  doc.blocks = {Heading(1, "总则"), Para(Repeat("本法适用于中华人民共和国境内的合同。", 20)),
                Heading(1, "Scope"), Para(Repeat("This section applies to every contract. ", 30))};
  ChunkerOptions opt;
  opt.max_tokens = 64;
  opt.overlap_tokens = 12;
  auto chunks = ChunkDocument(doc, opt);
  ASSERT_GT(chunks.size(), 4u);
  const std::string text = DocumentText(doc);
  for (const TextChunk& c : chunks) {
    EXPECT_EQ(Slice(text, c.char_start, c.char_end), c.text);
    EXPECT_LE(c.tokens, 64.0) << c.text;
  }
}

TEST(KbChunkerTest, NeverCrossesAHeadingUnlessTiny) {
  ParsedDocument doc;
  doc.blocks = {Heading(1, "第一章 总则"), Heading(2, "第一条"), Para(Repeat("甲方应当按期付款。", 10)),
                Heading(2, "第二条"), Para(Repeat("乙方应当按期交货。", 10))};
  ChunkerOptions opt;
  opt.max_tokens = 200;
  opt.overlap_tokens = 20;
  auto chunks = ChunkDocument(doc, opt);
  ASSERT_EQ(chunks.size(), 2u);
  // The lone chapter heading is tiny, so it joins the first article's chunk.
  EXPECT_EQ(chunks[0].heading_path, "第一章 总则 > 第一条");
  EXPECT_EQ(chunks[0].text.rfind("第一章 总则\n第一条\n甲方", 0), 0u);
  EXPECT_EQ(chunks[0].text.find("乙方"), std::string::npos);
  EXPECT_EQ(chunks[1].heading_path, "第一章 总则 > 第二条");
  EXPECT_EQ(chunks[1].text.rfind("第二条", 0), 0u);
  EXPECT_EQ(chunks[1].text.find("甲方"), std::string::npos);
}

TEST(KbChunkerTest, SplitsAtSentenceBoundariesWithOverlap) {
  ParsedDocument doc;
  std::string para;
  for (int i = 0; i < 30; ++i) para += "第" + std::to_string(i) + "句话说明了一个事实！";
  doc.blocks = {Para(para)};
  ChunkerOptions opt;
  opt.max_tokens = 60;
  opt.overlap_tokens = 15;
  auto chunks = ChunkDocument(doc, opt);
  ASSERT_GT(chunks.size(), 3u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const std::string& t = chunks[i].text;
    EXPECT_EQ(t.substr(t.size() - 3), "！") << t;  // ends at a sentence end
    if (i > 0) {
      EXPECT_LT(chunks[i].char_start, chunks[i - 1].char_end) << "no overlap";
      EXPECT_GT(chunks[i].char_start, chunks[i - 1].char_start);
    }
  }
  EXPECT_EQ(chunks.back().char_end, static_cast<int64_t>(utf8::CodePointCount(para)));
}

TEST(KbChunkerTest, EnglishSentencesAndHardCutOfHugeRuns) {
  ParsedDocument doc;
  doc.blocks = {Para("Dr. Smith arrived. He left at 3.30 p.m. today! Did he? Yes."),
                Para(std::string(3000, 'x'))};
  ChunkerOptions opt;
  opt.max_tokens = 64;
  opt.overlap_tokens = 0;
  auto chunks = ChunkDocument(doc, opt);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "Dr. Smith arrived. He left at 3.30 p.m. today! Did he? Yes.");
  size_t xs = 0;
  for (size_t i = 1; i < chunks.size(); ++i) xs += chunks[i].text.size();
  EXPECT_EQ(xs, 3000u);  // cut, nothing lost
}

TEST(KbChunkerTest, KeepsPagesAndRejectsBadOptions) {
  ParsedDocument doc;
  doc.blocks = {Para(Repeat("第一页的内容。", 30), 1), Para(Repeat("第二页的内容。", 30), 2)};
  ChunkerOptions opt;
  opt.max_tokens = 100;
  opt.overlap_tokens = 0;
  auto chunks = ChunkDocument(doc, opt);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks.front().page, 1);
  EXPECT_EQ(chunks.back().page, 2);
  EXPECT_FALSE(ValidateChunkerOptions(ChunkerOptions{8, 0, 0}).ok());
  EXPECT_FALSE(ValidateChunkerOptions(ChunkerOptions{400, 300, 10}).ok());
  EXPECT_TRUE(ValidateChunkerOptions(ChunkerOptions{}).ok());
}

TEST(KbChunkerTest, EmptyDocumentHasNoChunks) {
  ParsedDocument doc;
  EXPECT_TRUE(ChunkDocument(doc, ChunkerOptions{}).empty());
  doc.blocks = {Para("   \n  ")};
  EXPECT_TRUE(ChunkDocument(doc, ChunkerOptions{}).empty());
}

}  // namespace
}  // namespace dv::kb
