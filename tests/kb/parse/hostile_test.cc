// Hostile and broken input: every case ends with a specific error (or a clean result), never a
// crash, hang or unbounded allocation. Run under ASan/UBSan in CI.
#include <gtest/gtest.h>

#include "common/utf8.h"
#include "kb/parse/parse_test_util.h"
#include "kb/parse/parser.h"
#include "test_util.h"

namespace dv::kb {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return dv::testing::ReadFile(dv::testing::FixturePath("docs/" + name));
}

void ExpectError(const Result<ParsedDocument>& r, StatusCode code, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << needle;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_THAT(r.status().Describe(), HasSubstr(needle));
}

TEST(HostileParse, ZipBombStopsOnRatioWhileInflating) {
  ExpectError(ParseDocument("bomb.docx", Fixture("bomb.docx")), StatusCode::kResourceExhausted,
              "bomb.docx: ZIP member word/document.xml inflates more than 200x its compressed size");
}

TEST(HostileParse, ArchiveWideInflateLimit) {
  ParseOptions options;
  options.max_decompressed_bytes = 4096;
  ExpectError(ParseDocument("handbook.docx", Fixture("handbook.docx"), options), StatusCode::kResourceExhausted,
              "ZIP members inflate beyond 4096 bytes in total");
}

TEST(HostileParse, DeeplyNestedArchivesStopAtTheDepthLimit) {
  // nested.zip holds level2.zip holds ... level8.zip holds level8.txt. Ingest recursively the way
  // the pipeline does: each attachment one level deeper.
  std::string name = "nested.zip";
  std::string bytes = Fixture(name);
  ParseOptions options;
  for (int depth = 0;; ++depth) {
    options.nesting_depth = depth;
    auto doc = ParseDocument(name, bytes, options);
    if (!doc.ok()) {
      EXPECT_EQ(depth, options.max_nesting_depth + 1);
      ExpectError(doc, StatusCode::kResourceExhausted,
                  "level6.zip: nested 5 levels deep inside other documents (limit 4)");
      break;
    }
    ASSERT_EQ(doc->attachments.size(), 1u);
    name = doc->attachments[0].file_name;
    bytes = doc->attachments[0].bytes;
  }
}

TEST(HostileParse, TooManyArchiveMembers) {
  ParseOptions options;
  options.max_attachments = 0;
  ExpectError(ParseDocument("nested.zip", Fixture("nested.zip"), options), StatusCode::kResourceExhausted,
              "archive has more than 0 files");
}

TEST(HostileParse, MalformedAndTruncatedContainers) {
  ExpectError(ParseDocument("malformed.docx", Fixture("malformed.docx")), StatusCode::kInvalidArgument,
              "malformed XML in word/document.xml");
  ExpectError(ParseDocument("truncated.docx", Fixture("truncated.docx")), StatusCode::kInvalidArgument,
              "not a valid ZIP archive (truncated or corrupt?)");
  ExpectError(ParseDocument("truncated.pdf", Fixture("truncated.pdf")), StatusCode::kInvalidArgument,
              "truncated.pdf: not a valid PDF");
  ExpectError(ParseDocument("x.pdf", "%PDF-1.7\n"), StatusCode::kInvalidArgument, "not a valid PDF");
  ExpectError(ParseDocument("x.xlsx", "PK\x05\x06"), StatusCode::kInvalidArgument, "not a valid ZIP archive");
}

TEST(HostileParse, PageLimit) {
  ParseOptions options;
  options.max_pages = 2;
  ExpectError(ParseDocument("report.pdf", Fixture("report.pdf"), options), StatusCode::kResourceExhausted,
              "PDF has 3 pages (limit 2)");
  ExpectError(ParseDocument("handbook.pptx", Fixture("handbook.pptx"), options), StatusCode::kResourceExhausted,
              "presentation has more than 2 slides");
}

TEST(HostileParse, BinaryAndBrokenText) {
  ExpectError(ParseDocument("binary.txt", Fixture("binary.txt")), StatusCode::kUnimplemented,
              "binary.txt: unsupported file type");
  ExpectError(ParseDocument("legacy.doc", Fixture("legacy.doc")), StatusCode::kUnimplemented,
              "legacy binary Office file (.doc/.xls/.ppt) is not supported");
  ExpectError(ParseDocument("unterminated.csv", Fixture("unterminated.csv")), StatusCode::kInvalidArgument,
              "unterminated quoted field starting on line 2");
}

TEST(HostileParse, HugeLinesInEveryLineOrientedFormat) {
  ParseOptions options;
  options.max_line_bytes = 1000;
  std::string line(5000, 'a');
  ExpectError(ParseDocument("a.md", "# t\n" + line, options), StatusCode::kResourceExhausted,
              "line 2 is 5000 bytes long");
  ExpectError(ParseDocument("a.csv", "x,y\n" + line + ",1\n", options), StatusCode::kResourceExhausted,
              "line 2 is 5002 bytes long");
  ExpectError(ParseDocument("a.eml", "From: a@b\nSubject: s\n\n" + line, options), StatusCode::kResourceExhausted,
              "line 4 is 5000 bytes long");
}

TEST(HostileParse, DeepJsonIsRefusedMalformedJsonIsNamed) {
  ExpectError(ParseDocument("deep.json", std::string(100000, '[') + std::string(100000, ']')),
              StatusCode::kResourceExhausted, "JSON nested deeper than 64 levels");
  ExpectError(ParseDocument("bad.json", "{\"a\": [1, 2,}"), StatusCode::kInvalidArgument, "malformed JSON at byte 13");
}

TEST(HostileParse, JsonPathAmplificationIsBounded) {
  // 60 levels of 300-byte keys above 100k values: naive flattening would print ~2 GB of paths.
  std::string json;
  for (int i = 0; i < 60; ++i) json += "{\"" + std::string(300, 'k') + "\":";
  json += "[";
  for (int i = 0; i < 100000; ++i) json += i ? ",1" : "1";
  json += "]" + std::string(60, '}');
  ExpectError(ParseDocument("amplify.json", json), StatusCode::kResourceExhausted, "flattened JSON would exceed");
}

TEST(HostileParse, DeepHtmlNestingIsRefusedBeforeTheTreeBuilder) {
  std::string html = "<html><body>";
  for (int i = 0; i < 200000; ++i) html += "<div>";
  html += "deep text";
  ExpectError(ParseDocument("deep.html", html), StatusCode::kResourceExhausted,
              "deep.html: HTML elements nested deeper than 512 levels");
}

TEST(HostileParse, ModeratelyNestedAndUnclosedHtmlStillParses) {
  // 400 nested spans (beyond the recursive walk's depth, flattened) and 5000 unclosed <p>/<li>,
  // which close themselves and do not count as nesting.
  std::string html = "<html><body>";
  for (int i = 0; i < 400; ++i) html += "<span>";
  html += "deep text";
  for (int i = 0; i < 400; ++i) html += "</span>";
  html += "<ul>";
  for (int i = 0; i < 5000; ++i) html += "<li><p>item";
  auto doc = ParseDocument("ok.html", html);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ(doc->blocks.size(), 5001u);
  EXPECT_EQ(doc->blocks[0].text, "deep text");
  EXPECT_EQ(doc->blocks[5000].text, "item");
  EXPECT_EQ(doc->blocks[5000].kind, BlockKind::kListItem);
}

TEST(HostileParse, DeepMultipartNestingIsRefused) {
  std::string mail = "From: a@b\nSubject: nest\n";
  for (int i = 0; i < 40; ++i) {
    mail += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
  }
  mail += "Content-Type: text/plain\n\nbottom\n";
  ExpectError(ParseDocument("nest.eml", mail), StatusCode::kInvalidArgument,
              "MIME multiparts nested deeper than 32 levels");
}

TEST(HostileParse, OversizedInput) {
  ParseOptions options;
  options.max_input_bytes = 1000;
  ExpectError(ParseDocument("report.pdf", Fixture("report.pdf"), options), StatusCode::kResourceExhausted,
              "report.pdf: file is 2");
}

// Every fixture cut short at many points and with bytes flipped: each parse either succeeds with
// valid UTF-8 everywhere or fails with a message that names the file.
TEST(HostileParse, TruncatedAndCorruptedFixturesFailCleanly) {
  ParseOptions options;
  options.enable_ocr = false;
  for (const char* name : {"handbook.docx", "handbook.pptx", "inventory.xlsx", "report.pdf", "review.eml", "inbox.mbox",
                           "notice-gbk.html", "handbook.md", "contracts.csv", "config.json", "law-big5.txt"}) {
    const std::string bytes = Fixture(name);
    for (int cut = 1; cut < 16; ++cut) {
      for (bool flip : {false, true}) {
        std::string damaged = bytes.substr(0, bytes.size() * static_cast<size_t>(cut) / 16);
        if (flip) {
          for (size_t i = damaged.size() / 3; i < damaged.size(); i += 97) damaged[i] ^= 0x5A;
        }
        auto doc = ParseDocument(name, damaged, options);
        if (!doc.ok()) {
          EXPECT_THAT(doc.status().Describe(), HasSubstr(name));
          continue;
        }
        for (const Block& b : doc->blocks) EXPECT_TRUE(utf8::IsValid(b.text)) << name;
        EXPECT_TRUE(utf8::IsValid(doc->title)) << name;
      }
    }
  }
}

}  // namespace
}  // namespace dv::kb
