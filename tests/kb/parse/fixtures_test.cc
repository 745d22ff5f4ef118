// Parsers on real files made by third-party tools (tools/make_doc_fixtures.sh): pandoc's DOCX,
// PPTX and HTML writers, cairo's PDF writer, Python's email/mailbox/codecs. The expected text is
// the content those tools were given (tests/fixtures/docs/handbook.md and the script).
#include <gtest/gtest.h>

#include "kb/parse/ocr.h"
#include "kb/parse/parse_test_util.h"
#include "kb/parse/parser.h"
#include "test_util.h"

namespace dv::kb {
namespace {

using testing::DescribeBlocks;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Result<ParsedDocument> ParseFixture(const std::string& name, const ParseOptions& options = {}) {
  std::string bytes = dv::testing::ReadFile(dv::testing::FixturePath("docs/" + name));
  return ParseDocument(name, bytes, options);
}

// The handbook's body as every format renders it (pandoc's title block excluded).
const std::vector<std::string> kHandbookBody = {
    "H1 第一章 总则",
    "P 为了规范个人信息处理活动，制定本手册。This handbook governs personal data processing.",
    "H2 1.1 适用范围",
    "L1 客户数据",
    "L1 员工数据",
    "L2 薪酬记录",
    "L2 考勤记录",
    "L1 Supplier contacts",
    "H2 1.2 Retention periods",
    "T 数据类别 | 保存期限 | Owner\n合同 | 10 年 | Legal\nInvoices | 7 years | Finance",
    "H1 第二章 Security Measures",
    "L1 Encrypt data at rest.",
    "L1 定期审计访问日志。",
    "Q 注意：违反本手册将被追究责任。",
};

std::vector<std::string> WithTitleBlock(const std::string& heading) {
  std::vector<std::string> v = {heading, "P 法务部 Legal Department", "P 2024-03-01"};
  v.insert(v.end(), kHandbookBody.begin(), kHandbookBody.end());
  return v;
}

TEST(FixtureParse, MarkdownHandbook) {
  auto doc = ParseFixture("handbook.md");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(DescribeBlocks(*doc), kHandbookBody);
  EXPECT_EQ(doc->title, "数据保护合规手册");
  EXPECT_EQ(doc->metadata.at("author"), "法务部 Legal Department");
}

TEST(FixtureParse, PandocDocx) {
  auto doc = ParseFixture("handbook.docx");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(DescribeBlocks(*doc), WithTitleBlock("H1 数据保护合规手册"));
  EXPECT_EQ(doc->title, "数据保护合规手册");
  EXPECT_EQ(doc->metadata.at("author"), "法务部 Legal Department");
  EXPECT_EQ(doc->mime_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
}

TEST(FixtureParse, FootnotesInDocxAndMarkdown) {
  auto docx = ParseFixture("footnotes.docx");
  ASSERT_TRUE(docx.ok()) << docx.status().ToString();
  EXPECT_THAT(DescribeBlocks(*docx),
              ElementsAre("H1 条款", "P 合同自签署之日起生效。[^20] Termination requires notice.[^21]",
                          "P [^20] 依据《民法典》第五百零二条。", "P [^21] Thirty days in writing."));
  auto md = ParseFixture("footnotes.md");
  ASSERT_TRUE(md.ok());
  EXPECT_THAT(DescribeBlocks(*md),
              ElementsAre("H1 条款", "P 合同自签署之日起生效。[^1] Termination requires notice.[^2]",
                          "P [^1]: 依据《民法典》第五百零二条。", "P [^2]: Thirty days in writing."));
}

TEST(FixtureParse, PandocHtml) {
  auto doc = ParseFixture("handbook.html");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(DescribeBlocks(*doc), WithTitleBlock("H1 数据保护合规手册"));
  EXPECT_EQ(doc->title, "数据保护合规手册");
}

TEST(FixtureParse, PandocPptxSlidesInOrderWithTitles) {
  auto doc = ParseFixture("handbook.pptx");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc),
              ElementsAre("H1@1[数据保护合规手册] 数据保护合规手册", "P@1[数据保护合规手册] 法务部 Legal Department",
                          "P@1[数据保护合规手册] 2024-03-01", "H1@2[第一章 总则] 第一章 总则",
                          "P@3 为了规范个人信息处理活动，制定本手册。This handbook governs "
                          "personal data processing.",
                          "H1@4[1.1 适用范围] 1.1 适用范围", "L1@4[1.1 适用范围] 客户数据",
                          "L1@4[1.1 适用范围] 员工数据", "L2@4[1.1 适用范围] 薪酬记录", "L2@4[1.1 适用范围] 考勤记录",
                          "L1@4[1.1 适用范围] Supplier contacts", "H1@5[1.2 Retention periods] 1.2 Retention periods",
                          "T@5[1.2 Retention periods] 数据类别 | 保存期限 | Owner\n合同 | 10 年 | "
                          "Legal\nInvoices | 7 years | Finance",
                          "H1@6[第二章 Security Measures] 第二章 Security Measures", "L1@7 Encrypt data at rest.",
                          "L1@7 定期审计访问日志。", "P@7 注意：违反本手册将被追究责任。"));
  EXPECT_EQ(doc->metadata.at("slides"), "7");
}

TEST(FixtureParse, PandocPptxSpeakerNotes) {
  auto doc = ParseFixture("slides.pptx");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("H1@1[季度汇报] 季度汇报", "H1@2[业绩 Results] 业绩 Results",
                                                "L1@2[业绩 Results] 收入增长 12%",
                                                "P@2[业绩 Results] Notes: 讲者备注：强调华东区的贡献。Mention the East "
                                                "China region.",
                                                "H1@3[下一步] 下一步", "L1@3[下一步] Hire two engineers"));
}

// Dates: serial 45352 is 2024-03-01 and 45352.3958… 09:30 (Python's datetime agrees).
TEST(FixtureParse, HandWrittenXlsxSheetsSharedAndInlineStringsAndDates) {
  auto doc = ParseFixture("inventory.xlsx");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc),
              ElementsAre("H1[库存] 库存",
                          "T[库存] 产品 | 数量 | 单价 | 到货日期\n笔记本电脑 | 5 | 6999.5 | 2024-03-01\n"
                          "显示器 |  | 1299 | 2024-03-01 09:30\nKeyboard | 12 | 待定 | TRUE",
                          "H1[Summary] Summary", "T[Summary] 季度 | Revenue\nQ1 | 3"));
}

TEST(FixtureParse, CairoPdfPagesAndScannedPage) {
  ParseOptions options;
  options.enable_ocr = false;
  auto doc = ParseFixture("report.pdf", options);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc),
              ElementsAre("P@1 Annual Report 2023\nRevenue grew by 12 percent.\nCosts were stable.",
                          "P@2 第二章 财务摘要\n营业收入同比增长百分之十二。\n净利润为三千万元。"));
  EXPECT_THAT(doc->warnings, ElementsAre("page 3 has no text layer (scanned?)"));
  EXPECT_EQ(doc->title, "Annual Report 年度报告");
  EXPECT_EQ(doc->metadata.at("author"), "Finance Team");
  EXPECT_EQ(doc->metadata.at("pages"), "3");
}

TEST(FixtureParse, HandWrittenMinimalPdfWithoutXref) {
  auto doc = ParseFixture("minimal-en.pdf");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("P@1 Hello PDF"));
  EXPECT_TRUE(doc->warnings.empty());
}

TEST(FixtureParse, ScannedPdfPageIsRecognisedByTesseract) {
  if (!internal::TesseractAvailable()) {
    GTEST_SKIP() << "tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)";
  }
  auto doc = ParseFixture("report.pdf");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  std::string page3;
  for (const Block& b : doc->blocks) {
    if (b.page == 3) page3 += b.text + "\n";
  }
  EXPECT_THAT(page3, HasSubstr("第三页"));
  EXPECT_THAT(page3, HasSubstr("Scanned page three"));
  EXPECT_EQ(doc->metadata.at("ocr_pages"), "3");
  EXPECT_THAT(doc->warnings, ElementsAre("page 3 has no text layer (scanned?); text recognised by OCR"));

  ParseOptions no_budget;
  no_budget.max_ocr_pages = 0;
  auto skipped = ParseFixture("report.pdf", no_budget);
  ASSERT_TRUE(skipped.ok());
  EXPECT_THAT(skipped->warnings, ElementsAre("page 3 has no text layer (scanned?); OCR skipped (limit of 0 pages)"));
}

TEST(FixtureParse, LegacyAndUnicodeEncodings) {
  const std::string zh =
      "P 第一条 为了保护个人信息权益，规范个人信息处理活动，促进个人信息合理利用，根据宪法，制定本法。";
  struct Case {
    const char* file;
    const char* encoding;
  };
  for (const Case& c : {Case{"law-gb18030.txt", "GB18030"}, Case{"law-utf16le.txt", "UTF-16LE"},
                        Case{"law-utf16be.txt", "UTF-16BE"}, Case{"law-utf8-bom.txt", "UTF-8"}}) {
    auto doc = ParseFixture(c.file);
    ASSERT_TRUE(doc.ok()) << c.file;
    EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("P 中华人民共和国个人信息保护法", zh)) << c.file;
    EXPECT_EQ(doc->metadata.at("encoding"), c.encoding) << c.file;
  }
  auto big5 = ParseFixture("law-big5.txt");
  ASSERT_TRUE(big5.ok());
  EXPECT_THAT(DescribeBlocks(*big5), ElementsAre("P 中華民國個人資料保護法",
                                                 "P 第一條 為規範個人資料之蒐集、處理及利用，以避免人格權受侵害，"
                                                 "並促進個人資料之合理利用，特制定本法。"));
  EXPECT_EQ(big5->metadata.at("encoding"), "Big5");
  auto short_gbk = ParseFixture("law-gbk-short.txt");  // 7 characters: too short for ucsdet
  ASSERT_TRUE(short_gbk.ok());
  EXPECT_THAT(DescribeBlocks(*short_gbk), ElementsAre("P 合同条款第一条"));
  auto latin1 = ParseFixture("latin1.txt");
  ASSERT_TRUE(latin1.ok());
  EXPECT_THAT(DescribeBlocks(*latin1), ElementsAre("P Café crème brûlée à la carte, naïve façade."));
}

TEST(FixtureParse, DamagedUtf8StaysUtf8WithReplacementCharacters) {
  auto doc = ParseFixture("bad-utf8.md");
  ASSERT_TRUE(doc.ok());
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("H1 标题", "P 正文\uFFFD\uFFFD\uFFFD 结束"));
}

TEST(FixtureParse, HtmlWithDeclaredGbkDropsScriptsStylesAndNav) {
  auto doc = ParseFixture("notice-gbk.html");
  ASSERT_TRUE(doc.ok());
  EXPECT_THAT(DescribeBlocks(*doc),
              ElementsAre("H1 年度体检通知", "P 各位同事：体检将于 5 月 20 日举行。\n请准时参加。", "H2 Schedule",
                          "L1 Morning: blood test", "L2 空腹", "L1 Afternoon: X-ray", "T 部门 | 时间\n法务部 | 09:00",
                          "Q 如有疑问请联系人事部。", "C Room 301\n  Building A"));
  EXPECT_EQ(doc->title, "公司通知 Notice");
  EXPECT_EQ(doc->metadata.at("encoding"), "gbk");
}

TEST(FixtureParse, CsvQuotingAndDelimiterSniffing) {
  auto doc = ParseFixture("contracts.csv");
  ASSERT_TRUE(doc.ok());
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("T 合同编号 | 客户 | 金额 | 备注\nC-001 | 北京科技有限公司 | 120000 | "
                                                "含税, 分两期\nC-002 | Acme Corp | 98000.50 | multi line"));
  auto semi = ParseFixture("semicolon.csv");
  ASSERT_TRUE(semi.ok());
  EXPECT_THAT(DescribeBlocks(*semi), ElementsAre("T name | city | score\nAlice | Paris | 90\nBob | Lyon; Rhone | 85"));
  EXPECT_EQ(semi->metadata.at("delimiter"), ";");
}

TEST(FixtureParse, JsonFlattenedToPaths) {
  auto doc = ParseFixture("config.json");
  ASSERT_TRUE(doc.ok());
  EXPECT_THAT(DescribeBlocks(*doc), ElementsAre("P company: 深蓝科技",
                                                "P departments[0].name: 法务部\ndepartments[0].head: 张三\n"
                                                "departments[1].name: Finance\ndepartments[1].budget: 1.5e6",
                                                "P active: true", "P notes: null"));
}

TEST(FixtureParse, EmailHeadersBodiesAndAttachments) {
  auto doc = ParseFixture("review.eml");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(
      DescribeBlocks(*doc),
      ElementsAre("H1 季度合同审查 Q3 contract review",
                  "P From: 张三 <zhangsan@example.cn>\nTo: Legal Team <legal@example.com>\n"
                  "Date: Mon, 02 Oct 2023 09:30:00 +0800",
                  "P 各位好：", "P 请在周五前完成第三季度合同审查。Please finish the Q3 review by Friday.", "P 谢谢"));
  EXPECT_EQ(doc->title, "季度合同审查 Q3 contract review");
  EXPECT_EQ(doc->metadata.at("from"), "张三 <zhangsan@example.cn>");
  EXPECT_EQ(doc->metadata.at("message-id"), "<q3-review@example.cn>");
  ASSERT_EQ(doc->attachments.size(), 2u);
  EXPECT_EQ(doc->attachments[0].file_name, "合同清单.csv");
  EXPECT_EQ(doc->attachments[0].content_type, "text/csv");
  EXPECT_EQ(doc->attachments[0].bytes, "编号,金额\nC-001,120000\n");
  EXPECT_EQ(doc->attachments[1].content_type, "message/rfc822");
  // Attachments parse as documents of their own.
  ParseOptions nested;
  nested.nesting_depth = 1;
  auto csv = ParseDocument(doc->attachments[0].file_name, doc->attachments[0].bytes, nested);
  ASSERT_TRUE(csv.ok());
  EXPECT_THAT(DescribeBlocks(*csv), ElementsAre("T 编号 | 金额\nC-001 | 120000"));
  auto forwarded = ParseDocument(doc->attachments[1].file_name, doc->attachments[1].bytes, nested);
  ASSERT_TRUE(forwarded.ok()) << forwarded.status().ToString();
  EXPECT_THAT(DescribeBlocks(*forwarded),
              ElementsAre("H1 Original message", "P From: bob@example.com", "P Forwarded body text."));
}

TEST(FixtureParse, MboxSplitsMessagesAndParsesHtmlOnlyBig5Mail) {
  auto doc = ParseFixture("inbox.mbox");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_THAT(DescribeBlocks(*doc),
              ElementsAre("H1 Hello", "P From: alice@example.com\nDate: Wed, 04 Oct 2023 08:00:00 +0000",
                          "P First message body.", "P From the desk of Alice: line starting with From.", "H1 會議通知",
                          "P From: li@example.tw\nDate: Tue, 03 Oct 2023 10:00:00 +0800", "H1 會議紀要",
                          "P 明天下午三點開會。"));
  EXPECT_EQ(doc->metadata.at("messages"), "2");
  EXPECT_EQ(doc->title, "inbox");
}

TEST(FixtureParse, DetectionByMagicBeatsTheExtension) {
  std::string pdf = dv::testing::ReadFile(dv::testing::FixturePath("docs/report.pdf"));
  EXPECT_EQ(DetectDocumentType("report.txt", pdf), DocumentType::kPdf);
  std::string docx = dv::testing::ReadFile(dv::testing::FixturePath("docs/handbook.docx"));
  EXPECT_EQ(DetectDocumentType("upload.bin", docx), DocumentType::kDocx);
  std::string pptx = dv::testing::ReadFile(dv::testing::FixturePath("docs/handbook.pptx"));
  EXPECT_EQ(DetectDocumentType("noext", pptx), DocumentType::kPptx);
  std::string eml = dv::testing::ReadFile(dv::testing::FixturePath("docs/review.eml"));
  EXPECT_EQ(DetectDocumentType("message", eml), DocumentType::kEmail);
  std::string mbox = dv::testing::ReadFile(dv::testing::FixturePath("docs/inbox.mbox"));
  EXPECT_EQ(DetectDocumentType("Inbox", mbox), DocumentType::kMbox);
  EXPECT_EQ(DetectDocumentType("page", "  <!DOCTYPE html><p>x"), DocumentType::kHtml);
  EXPECT_EQ(DetectDocumentType("data", "{\"a\": 1}"), DocumentType::kJson);
  EXPECT_EQ(DetectDocumentType("notes.md", "# x"), DocumentType::kMarkdown);
  EXPECT_EQ(DetectDocumentType("blob", std::string("\x00\x01\x02", 3)), DocumentType::kUnknown);
  EXPECT_EQ(DetectDocumentType("about.md", "Files start with %PDF-1.7"), DocumentType::kMarkdown);
  EXPECT_EQ(DetectDocumentType("junk.pdf", "\r\n\r\n%PDF-1.4"), DocumentType::kPdf);
}

}  // namespace
}  // namespace dv::kb
