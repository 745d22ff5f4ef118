// MIME decoding against the examples published in the RFCs themselves: RFC 2047 §8 (encoded
// words, including the whitespace rules between adjacent words), RFC 2231 §3–4 (parameter
// continuations and charsets), RFC 4648 §10 (base64 test vectors), RFC 2045 §6.7 (quoted-printable).
#include "kb/parse/mime.h"

#include <gtest/gtest.h>

namespace dv::kb::internal {
namespace {

TEST(Rfc2047, Section8Examples) {
  EXPECT_EQ(DecodeHeaderValue("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>"), "Keith Moore <moore@cs.utk.edu>");
  EXPECT_EQ(DecodeHeaderValue("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>"),
            "Keld Jørn Simonsen <keld@dkuug.dk>");
  EXPECT_EQ(DecodeHeaderValue("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
            "André Pirard <PIRARD@vm1.ulg.ac.be>");
  EXPECT_EQ(DecodeHeaderValue("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\n"
                              "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="),
            "If you can read this you understand the example.");
  // The table of §8: whitespace between adjacent encoded-words is not displayed.
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a?=)"), "(a)");
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a?=\n    =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
  EXPECT_EQ(DecodeHeaderValue("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
}

TEST(Rfc2047, ChineseWordsSplitInsideACharacterAreJoinedBeforeConversion) {
  // "中文" in UTF-8 is E4 B8 AD E6 96 87; the split falls inside the first character.
  EXPECT_EQ(DecodeHeaderValue("=?UTF-8?B?5Lg=?= =?UTF-8?B?reaWhw==?="), "中文");
  EXPECT_EQ(DecodeHeaderValue("=?gb2312?B?1tDOxA==?="), "中文");  // GB2312 D6D0 CEC4
  EXPECT_EQ(DecodeHeaderValue("Re: =?big5?Q?=A4=A4=A4=E5?= ok"), "Re: 中文 ok");
}

TEST(Rfc2231, Section3And4Examples) {
  HeaderWithParams a =
      ParseHeaderWithParams("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
  EXPECT_EQ(a.value, "application/x-stuff");
  EXPECT_EQ(a.params["title"], "This is ***fun***");
  HeaderWithParams b = ParseHeaderWithParams(
      "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
      "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
  EXPECT_EQ(b.params["title"], "This is even more ***fun*** isn't it!");
  HeaderWithParams c = ParseHeaderWithParams(
      "message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/"
      "bulk-mailer/bulk-mailer.tar\"");
  EXPECT_EQ(c.params["url"], "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
  EXPECT_EQ(c.params["access-type"], "URL");
}

TEST(Rfc4648, Base64TestVectors) {
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("Zg=="), "f");
  EXPECT_EQ(DecodeBase64("Zm8="), "fo");
  EXPECT_EQ(DecodeBase64("Zm9v"), "foo");
  EXPECT_EQ(DecodeBase64("Zm9vYg=="), "foob");
  EXPECT_EQ(DecodeBase64("Zm9vYmE="), "fooba");
  EXPECT_EQ(DecodeBase64("Zm9v\r\nYmFy"), "foobar");  // MIME line breaks are skipped
}

TEST(Rfc2045, QuotedPrintable) {
  EXPECT_EQ(DecodeQuotedPrintable("Now's the time =\r\nfor all folk to come=\n to the aid"),
            "Now's the time for all folk to come to the aid");
  EXPECT_EQ(DecodeQuotedPrintable("caf=C3=A9 =3D equal"), "café = equal");
  EXPECT_EQ(DecodeQuotedPrintable("bad =ZZ stays"), "bad =ZZ stays");
}

TEST(MimeHeaders, UnfoldsContinuationLinesAndFindsTheBody) {
  auto [headers, body] = SplitHeaders("Subject: a\r\n  long subject\r\nX-Empty:\r\nNot a header line\r\n\r\nbody\r\n");
  EXPECT_EQ(headers.Get("subject"), "a long subject");
  EXPECT_EQ(headers.Get("x-empty"), "");
  EXPECT_EQ(body, "body\r\n");
}

}  // namespace
}  // namespace dv::kb::internal
