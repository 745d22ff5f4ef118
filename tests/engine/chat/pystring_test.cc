// Python str semantics the interpreter relies on; expected values are CPython 3's.
#include <gtest/gtest.h>

#include "engine/chat/pystring.h"

namespace dv::chat::py {
namespace {

TEST(ChatPyString, FloatReprMatchesCPython) {
  EXPECT_EQ(FloatRepr(0.1), "0.1");
  EXPECT_EQ(FloatRepr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FloatRepr(1e16), "1e+16");
  EXPECT_EQ(FloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(FloatRepr(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(FloatRepr(1e-4), "0.0001");
  EXPECT_EQ(FloatRepr(1e-5), "1e-05");
  EXPECT_EQ(FloatRepr(2.5e-7), "2.5e-07");
  EXPECT_EQ(FloatRepr(-1.5), "-1.5");
  EXPECT_EQ(FloatRepr(5e-324), "5e-324");
  EXPECT_EQ(FloatRepr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(FloatRepr(100.0), "100.0");
  EXPECT_EQ(FloatRepr(0.1 + 0.2), "0.30000000000000004");
}

TEST(ChatPyString, SplitOnUnicodeWhitespace) {
  EXPECT_EQ(Split("a\u3000b\u00a0", std::nullopt, -1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Split("  x  ", std::nullopt, 0), (std::vector<std::string>{"x  "}));
  EXPECT_EQ(Split("a b  c ", std::nullopt, 1), (std::vector<std::string>{"a", "b  c "}));
  EXPECT_EQ(Split("a,,b", std::string(","), -1), (std::vector<std::string>{"a", "", "b"}));
}

TEST(ChatPyString, StripUsesPythonWhitespaceOrGivenCodePoints) {
  EXPECT_EQ(Strip("\u3000 x\t\n", std::nullopt, StripSide::kBoth), "x");
  EXPECT_EQ(Strip("中中x中", std::string("中"), StripSide::kLeft), "x中");
  EXPECT_EQ(Strip("xyz", std::string("zy"), StripSide::kRight), "x");
}

TEST(ChatPyString, UnicodeCaseMapping) {
  EXPECT_EQ(Title("ǆemal ǳ"), "ǅemal ǲ");
  EXPECT_EQ(Capitalize("ǆemal"), "ǅemal");
  EXPECT_EQ(Upper("ﬁne"), "FINE");
  EXPECT_EQ(Lower("İ"), "i̇");
}

TEST(ChatPyString, ReprQuotesLikeCPython) {
  EXPECT_EQ(StrRepr("a'b"), "\"a'b\"");
  EXPECT_EQ(StrRepr("a\"b"), "'a\"b'");
  EXPECT_EQ(StrRepr("\x7f\u0085é\t"), "'\\x7f\\x85é\\t'");
}

TEST(ChatPyString, SlicesAndLines) {
  auto pick = [](const std::string& s, std::optional<int64_t> a, std::optional<int64_t> b, int64_t step) {
    std::string out;
    for (size_t i : SliceIndices(s.size(), a, b, step)) out += s[i];
    return out;
  };
  EXPECT_EQ(pick("abcdef", 4, 1, -1), "edc");
  EXPECT_EQ(pick("abcdef", -100, 100, 3), "ad");
  EXPECT_EQ(pick("abcdef", 10, std::nullopt, 1), "");
  EXPECT_EQ(SplitLines("a\x0b" "b\x1c" "c\u2028d"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Length("中文ab"), 4u);
}

}  // namespace
}  // namespace dv::chat::py
