// The hand-written split matchers must find exactly the matches the ICU regex engine finds for
// the same pattern, on random text over a deliberately awkward alphabet and on real corpus text.
#include "engine/tokenizer/regex.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "engine/tokenizer/pretokenize.h"
#include "test_util.h"

namespace dv::tok {
namespace {

// Letters, marks, digits of several scripts, every kind of whitespace the patterns care about,
// apostrophe contractions (including U+017F, which case-folds to 's'), punctuation, symbols,
// CJK/kana inside and outside DeepSeek-V3's ranges, emoji with ZWJ, controls and format chars.
const std::vector<std::string> kAlphabet = {
    "a", "Z", "s", "S", "t", "T", "r", "e", "E", "v", "m", "l", "L", "d", "D", "x", "'", "'", "'",
    "\xC5\xBF" /* ſ */, "0", "7", "123", "\xD9\xA3" /* ٣ */, "\xEF\xBC\x95" /* ５ */, "\xC2\xB2" /* ² */,
    "\xE2\x85\xAB" /* Ⅻ */, " ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\x0B", "\x0C",
    "\xC2\x85" /* NEL */, "\xC2\xA0" /* NBSP */, "\xE3\x80\x80" /* ideographic space */, "\xE2\x80\xA8",
    "!", ".", ",", "-", "(", ")", "\"", "#", "@", "[", "\\", "`", "~", "+", "<", "=", "$", "\xE2\x82\xAC" /* € */,
    "\xC2\xA9" /* © */, "\xEF\xBC\x8C" /* ， */, "\xE3\x80\x82" /* 。 */, "\xE2\x80\x9C" /* “ */,
    "\xE4\xB8\xAD" /* 中 */, "\xE6\x96\x87" /* 文 */, "\xE9\xBE\xA5" /* 龥 */, "\xE9\xBE\xA6" /* 龦 */,
    "\xE3\x81\x82" /* あ */, "\xE3\x82\xA2" /* ア */, "\xE3\x83\xBC" /* ー */, "\xEA\xB0\x80" /* 가 */,
    "\xD0\x96" /* Ж */, "\xCE\xB1" /* α */, "\xD8\xB9" /* ع */, "\xE0\xB8\x81" /* ก */,
    "\xCC\x81" /* combining acute */, "\xE0\xA4\xBE" /* Devanagari vowel sign (Mc) */,
    "\xF0\x9F\x9A\x80" /* 🚀 */, "\xF0\x9F\x98\x81", "\xE2\x80\x8D" /* ZWJ */, "\xEF\xB8\x8F" /* VS16 */,
    "\x01", "\x7F", "\xEE\x80\x80" /* private use */, "\xF0\x9D\x90\x80" /* 𝐀 math letter */,
    "\xF0\x90\x90\x80" /* 𐐀 */, "_", "\xE2\x80\xBF" /* ‿ Pc */, "\xE3\x80\x85" /* 々 */};

std::vector<std::string> RandomTexts(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::uniform_int_distribution<int> len(0, 40);
  std::vector<std::string> texts;
  for (size_t i = 0; i < count; ++i) {
    std::string t;
    const int n = len(rng);
    for (int k = 0; k < n; ++k) t += kAlphabet[pick(rng)];
    texts.push_back(std::move(t));
  }
  return texts;
}

// Chunks of real Chinese and English text from ../shared/corpora, when present.
std::vector<std::string> CorpusTexts() {
  std::vector<std::string> texts;
  for (const char* dir : {"corpora/rust-book-en", "corpora/laws-zh", "corpora/rust-book-zh"}) {
    const auto root = dv::testing::SharedPath(dir);
    if (root.empty()) continue;
    int files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".md") continue;
      std::string text = dv::testing::ReadFile(entry.path());
      text = utf8::Sanitize(text.substr(0, 20000));
      texts.push_back(text);
      if (++files == 15) break;
    }
  }
  return texts;
}

std::string Describe(const std::string& text, const std::vector<Span>& spans) {
  std::string s;
  for (const Span& sp : spans) {
    s += '[';
    s.append(text, sp.begin, sp.end - sp.begin);
    s += ']';
  }
  return s;
}

void ExpectSameMatches(std::string_view pattern, std::string_view expected_engine) {
  auto icu = CompileIcuRegex(pattern);
  ASSERT_TRUE(icu.ok()) << icu.status().ToString();
  auto fast = MakeKnownRegex(pattern);
  ASSERT_NE(fast, nullptr);
  EXPECT_EQ(fast->engine(), expected_engine);
  auto texts = RandomTexts(4000, 1234);
  for (auto& t : CorpusTexts()) texts.push_back(std::move(t));
  int mismatches = 0;
  for (const std::string& text : texts) {
    std::vector<Span> a, b;
    (*icu)->FindMatches(text, a);
    fast->FindMatches(text, b);
    bool same = a.size() == b.size();
    for (size_t i = 0; same && i < a.size(); ++i) same = a[i].begin == b[i].begin && a[i].end == b[i].end;
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << "pattern " << pattern << "\ntext: " << text << "\n icu:  " << Describe(text, a)
                    << "\n fast: " << Describe(text, b);
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << texts.size() << " texts";
}

TEST(TokenizerRegex, Qwen2FastMatchesIcu) { ExpectSameMatches(patterns::kQwen2, "qwen2"); }
TEST(TokenizerRegex, Llama3FastMatchesIcu) { ExpectSameMatches(patterns::kLlama3, "llama3"); }
TEST(TokenizerRegex, DeepSeekV3DigitsFastMatchesIcu) { ExpectSameMatches(patterns::kDigits1to3, "digits1to3"); }
TEST(TokenizerRegex, DeepSeekV3CjkFastMatchesIcu) { ExpectSameMatches(patterns::kDeepSeekV3Cjk, "deepseek-v3-cjk"); }
TEST(TokenizerRegex, DeepSeekV3MainFastMatchesIcu) { ExpectSameMatches(patterns::kDeepSeekV3Main, "deepseek-v3"); }

TEST(TokenizerRegex, IcuWhitespaceIsUnicodeWhiteSpace) {
  // ICU's own \s lacks U+000B and U+0085; the rewrite makes it the White_Space property.
  auto re = CompileIcuRegex("\\s+");
  ASSERT_TRUE(re.ok());
  std::vector<Span> m;
  (*re)->FindMatches("a\x0B\xC2\x85" "b", m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].begin, 1u);
  EXPECT_EQ(m[0].end, 4u);
}

TEST(TokenizerRegex, BadPatternIsAnError) {
  auto re = CompileIcuRegex("(unclosed");
  ASSERT_FALSE(re.ok());
  EXPECT_EQ(re.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(re.status().message().find("(unclosed"), std::string::npos);
}

// The SplitDelimiterBehavior examples of the HF `tokenizers` documentation.
std::vector<std::string> SplitWith(SplitBehavior behavior) {
  const std::string text = "the-final--countdown";
  std::vector<Span> matches;
  for (uint32_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') matches.push_back(Span{i, i + 1});
  }
  std::vector<Span> out;
  ApplySplitBehavior(Span{0, static_cast<uint32_t>(text.size())}, matches, behavior, false, out);
  std::vector<std::string> pieces;
  for (const Span& s : out) pieces.push_back(text.substr(s.begin, s.end - s.begin));
  return pieces;
}

TEST(TokenizerRegex, SplitBehaviorsMatchHfDocumentation) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitWith(SplitBehavior::kRemoved), (V{"the", "final", "countdown"}));
  EXPECT_EQ(SplitWith(SplitBehavior::kIsolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(SplitWith(SplitBehavior::kMergedWithPrevious), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(SplitWith(SplitBehavior::kMergedWithNext), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(SplitWith(SplitBehavior::kContiguous), (V{"the", "-", "final", "--", "countdown"}));
}

}  // namespace
}  // namespace dv::tok
