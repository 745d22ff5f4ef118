#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace dv::utf8 {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, ValidTextOfEveryLength) {
  EXPECT_TRUE(IsValid(""));
  EXPECT_TRUE(IsValid("plain ascii"));
  EXPECT_TRUE(IsValid("café"));                  // 2-byte
  EXPECT_TRUE(IsValid("深度求索"));              // 3-byte
  EXPECT_TRUE(IsValid("\xF0\x9F\x98\x80"));      // U+1F600, 4-byte
  EXPECT_TRUE(IsValid("\xF4\x8F\xBF\xBF"));      // U+10FFFF, the last scalar value
  EXPECT_TRUE(IsValid("\xEE\x80\x80"));          // U+E000, just after the surrogates
  EXPECT_TRUE(IsValid("\xED\x9F\xBF"));          // U+D7FF, just before the surrogates
}

TEST(Utf8Test, DecodesCodePoints) {
  EXPECT_EQ(ToCodePoints("a深\xF0\x9F\x98\x80"), std::u32string({U'a', U'深', U'\U0001F600'}));
  Decoded d = DecodeAt("\xE6\xB7\xB1", 0);
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.length, 3);
  EXPECT_EQ(d.code_point, U'深');
}

TEST(Utf8Test, RejectsOverlongForms) {
  EXPECT_FALSE(IsValid(Bytes({0xC0, 0xAF})));              // overlong '/'
  EXPECT_FALSE(IsValid(Bytes({0xC1, 0xBF})));
  EXPECT_FALSE(IsValid(Bytes({0xE0, 0x80, 0xAF})));        // overlong 3-byte
  EXPECT_FALSE(IsValid(Bytes({0xE0, 0x9F, 0xBF})));        // overlong U+07FF
  EXPECT_FALSE(IsValid(Bytes({0xF0, 0x80, 0x80, 0xAF})));  // overlong 4-byte
  EXPECT_FALSE(IsValid(Bytes({0xF0, 0x8F, 0xBF, 0xBF})));  // overlong U+FFFF
}

TEST(Utf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValid(Bytes({0xED, 0xA0, 0x80})));  // U+D800
  EXPECT_FALSE(IsValid(Bytes({0xED, 0xBF, 0xBF})));  // U+DFFF
  // CESU-8 style pair for U+1F600.
  EXPECT_FALSE(IsValid(Bytes({0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80})));
  EXPECT_FALSE(IsScalarValue(0xD800));
  EXPECT_EQ(Encode(0xDC00), kFffd);
}

TEST(Utf8Test, RejectsAboveMaxAndBadLeads) {
  EXPECT_FALSE(IsValid(Bytes({0xF4, 0x90, 0x80, 0x80})));  // U+110000
  EXPECT_FALSE(IsValid(Bytes({0xF5, 0x80, 0x80, 0x80})));
  EXPECT_FALSE(IsValid(Bytes({0xFF})));
  EXPECT_FALSE(IsValid(Bytes({0xFE})));
  EXPECT_FALSE(IsValid(Bytes({0x80})));  // lone continuation
  EXPECT_EQ(Encode(0x110000), kFffd);
}

TEST(Utf8Test, RejectsTruncatedSequences) {
  EXPECT_FALSE(IsValid(Bytes({0xE6, 0xB7})));
  EXPECT_FALSE(IsValid(Bytes({0xF0, 0x9F, 0x98})));
  EXPECT_FALSE(IsValid(Bytes({0xC3})));
  EXPECT_EQ(FirstInvalidOffset("ab" + Bytes({0xE6, 0xB7}) + "c"), 2u);
  EXPECT_EQ(FirstInvalidOffset("abc"), std::string_view::npos);
}

TEST(Utf8Test, SanitizeReplacesMaximalSubparts) {
  // Truncated 3-byte sequence followed by ASCII: one U+FFFD for the two bytes.
  EXPECT_EQ(Sanitize(Bytes({0xE6, 0xB7, 0x41})), kFffd + "A");
  // Each byte of an overlong form is its own maximal subpart (C0 is never a lead byte).
  EXPECT_EQ(Sanitize(Bytes({0xC0, 0xAF})), kFffd + kFffd);
  // Surrogate: ED A0 is not a valid prefix, so three replacements (Unicode 15, table 3-9 practice).
  EXPECT_EQ(Sanitize(Bytes({0xED, 0xA0, 0x80})), kFffd + kFffd + kFffd);
  EXPECT_EQ(Sanitize("ok 深"), "ok 深");
  EXPECT_EQ(CodePointCount(Bytes({0xE6, 0xB7, 0x41})), 2u);
}

TEST(Utf8Test, EncodeRoundTripsEveryBoundary) {
  for (char32_t cp : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    const std::string s = Encode(cp);
    ASSERT_TRUE(IsValid(s)) << std::hex << static_cast<uint32_t>(cp);
    Decoded d = DecodeAt(s, 0);
    EXPECT_EQ(d.code_point, cp);
    EXPECT_EQ(static_cast<size_t>(d.length), s.size());
  }
  EXPECT_EQ(FromCodePoints(U"深度"), "深度");
}

TEST(Utf8Test, CompletePrefixHoldsBackUnfinishedCharacters) {
  const std::string deep = "深";  // E6 B7 B1
  EXPECT_EQ(CompletePrefixLength("ab" + deep.substr(0, 1)), 2u);
  EXPECT_EQ(CompletePrefixLength("ab" + deep.substr(0, 2)), 2u);
  EXPECT_EQ(CompletePrefixLength("ab" + deep), 5u);
  // An invalid tail cannot become valid; it is not held back.
  EXPECT_EQ(CompletePrefixLength(Bytes({0x61, 0xED, 0xA0})), 3u);
  EXPECT_EQ(CompletePrefixLength(Bytes({0x61, 0xFF})), 2u);
}

TEST(Utf8Test, StreamDecoderNeverEmitsBrokenCharacters) {
  const std::string text = "深度求索 DeepSeek 😀 end";
  // Feed one byte at a time: every piece of output must be valid UTF-8.
  StreamDecoder dec;
  std::string out;
  for (char c : text) {
    std::string piece = dec.Feed(std::string(1, c));
    EXPECT_TRUE(IsValid(piece));
    out += piece;
  }
  out += dec.Flush();
  EXPECT_EQ(out, text);
}

TEST(Utf8Test, StreamDecoderFlushesIncompleteTailAsReplacement) {
  StreamDecoder dec;
  EXPECT_EQ(dec.Feed("a\xE6\xB7"), "a");
  EXPECT_EQ(dec.pending_bytes(), 2u);
  EXPECT_EQ(dec.Flush(), kFffd);
  EXPECT_EQ(dec.pending_bytes(), 0u);
}

}  // namespace
}  // namespace dv::utf8
