// Analyzer: Chinese segmentation + bigrams, traditional/simplified and width folding, English
// stemming and stop words, codes, offsets and positions.
#include "kb/analysis/analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace dv::kb {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

const Analyzer& TheAnalyzer() {
  static const std::unique_ptr<Analyzer> analyzer = [] {
    auto a = Analyzer::Create();
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return std::move(a).value();
  }();
  return *analyzer;
}

TEST(KbAnalyzerTest, EnglishIsLowerCasedStemmedAndStopWordsDropped) {
  // Snowball English (Porter2) stems: "running" → "run", "flows" → "flow", "aerodynamic" stays.
  EXPECT_THAT(TheAnalyzer().Terms("The Running flows of the Boundary-layers"),
              ElementsAre("run", "flow", "boundari", "layer", "boundary-layers"));
}

TEST(KbAnalyzerTest, ChineseGivesBigramsAndDictionaryWords) {
  std::vector<std::string> terms = TheAnalyzer().Terms("中华人民共和国民法典");
  // Every adjacent pair of characters is a term.
  for (const char* bigram : {"中华", "华人", "人民", "民共", "共和", "和国", "国民", "民法", "法典"}) {
    EXPECT_THAT(terms, Contains(bigram));
  }
  // ICU's dictionary knows at least one word longer than two characters here.
  EXPECT_TRUE(std::any_of(terms.begin(), terms.end(), [](const std::string& t) { return t.size() >= 9; }))
      << "no dictionary word of 3+ characters";
}

TEST(KbAnalyzerTest, RareTermsAndCodesAreFound) {
  std::vector<std::string> doc = TheAnalyzer().Terms("请核对三码合一的编号PPR-9087。");
  EXPECT_THAT(doc, Contains("三码"));
  EXPECT_THAT(doc, Contains("ppr-9087"));
  EXPECT_THAT(doc, Contains("ppr"));
  EXPECT_THAT(doc, Contains("9087"));
  // A query for the code, typed in full width, produces a term the document has.
  std::vector<std::string> query = TheAnalyzer().Terms("ＰＰＲ－９０８７");
  EXPECT_THAT(query, Contains("ppr-9087"));
}

TEST(KbAnalyzerTest, TraditionalFoldsToSimplified) {
  EXPECT_EQ(TheAnalyzer().Terms("資料庫系統"), TheAnalyzer().Terms("资料库系统"));
  EXPECT_EQ(TheAnalyzer().Terms("國際貿易"), TheAnalyzer().Terms("国际贸易"));
}

TEST(KbAnalyzerTest, FullWidthFoldsToHalfWidth) {
  EXPECT_EQ(TheAnalyzer().Terms("ＡＢＣ１２３ Ｄｅｅｐｖａｕｌｔ"), TheAnalyzer().Terms("abc123 deepvault"));
  EXPECT_EQ(TheAnalyzer().Fold(U'Ａ'), U'a');
  EXPECT_EQ(TheAnalyzer().Fold(U'１'), U'1');
  EXPECT_EQ(TheAnalyzer().Fold(U'們'), U'们');
}

TEST(KbAnalyzerTest, OffsetsPointAtTheSourceBytes) {
  const std::string text = "合同 Contracts，第３条";
  std::vector<Token> tokens;
  TheAnalyzer().Analyze(text, &tokens);
  for (const Token& t : tokens) {
    ASSERT_LE(t.begin, t.end);
    ASSERT_LE(t.end, text.size());
  }
  auto find = [&](const std::string& term) {
    auto it = std::find_if(tokens.begin(), tokens.end(), [&](const Token& t) { return t.term == term; });
    EXPECT_NE(it, tokens.end()) << term;
    return it == tokens.end() ? std::string() : text.substr(it->begin, it->end - it->begin);
  };
  EXPECT_EQ(find("合同"), "合同");
  EXPECT_EQ(find("contract"), "Contracts");
  EXPECT_EQ(find("3"), "３");
}

TEST(KbAnalyzerTest, PositionsFormAConsecutiveChain) {
  std::vector<Token> tokens;
  uint32_t next = TheAnalyzer().Analyze("数据库 of systems", &tokens, 10);
  std::vector<std::pair<std::string, uint32_t>> chain;
  for (const Token& t : tokens) {
    if (t.chain) chain.emplace_back(t.term, t.position);
  }
  // Bigrams at 10, 11; "of" (a stop word) keeps position 12 empty; "system" at 13.
  EXPECT_THAT(chain, ElementsAre(std::make_pair(std::string("数据"), 10u), std::make_pair(std::string("据库"), 11u),
                                 std::make_pair(std::string("system"), 13u)));
  EXPECT_EQ(next, 14u);
}

TEST(KbAnalyzerTest, InvalidUtf8AndEmptyInputAreHarmless) {
  EXPECT_TRUE(TheAnalyzer().Terms("").empty());
  EXPECT_THAT(TheAnalyzer().Terms(std::string("ab\xff\xfe", 4) + "cd"), Not(Contains("")));
  EXPECT_TRUE(TheAnalyzer().Terms("，。！？ ... ---").empty());
}

}  // namespace
}  // namespace dv::kb
