// ShardWriter: ingestion of real files through the parsers, unchanged files are no-ops, changed
// files replace their chunks, deletions leave every index, the index catches up after a crash
// between the database commit and the index commit.
#include "kb/ingest/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "kb/search/searcher.h"
#include "test_util.h"

namespace dv::kb {
namespace {

namespace fs = std::filesystem;

const Analyzer& TheAnalyzer() {
  static const std::unique_ptr<Analyzer> analyzer = std::move(Analyzer::Create()).value();
  return *analyzer;
}

class KbPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    docs_ = dir_.path() / "docs";
    shard_dir_ = (dir_.path() / "shard").string();
    fs::create_directories(docs_ / "sub");
    fs::create_directories(docs_ / ".hidden");
    testing::WriteFile(docs_ / "contract.md",
                       "# 采购合同\n\n## 第一条 付款\n\n甲方应在收到发票后三十日内付款，编号PPR-9087。\n\n"
                       "## 第二条 交货\n\n乙方应按期交货。\n");
    testing::WriteFile(docs_ / "sub" / "notes.txt", "Meeting notes: the turbine blades need inspection.\n");
    testing::WriteFile(docs_ / ".hidden" / "secret.txt", "hidden file must not be ingested\n");
  }

  std::unique_ptr<ShardWriter> Writer() {
    auto w = ShardWriter::Open(shard_dir_, &TheAnalyzer());
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  std::vector<std::string> SearchSources(const std::string& query) {
    auto s = Searcher::Open(shard_dir_, &TheAnalyzer());
    EXPECT_TRUE(s.ok());
    SearchRequest req;
    req.query = query;
    auto hits = (*s)->Search(1, req);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::vector<std::string> out;
    for (const SearchHit& h : *hits) out.push_back(fs::path(h.source).filename().string());
    return out;
  }

  // Database chunk ids == index chunk ids, no dirty rows left.
  void ExpectConsistent(ShardWriter& w) {
    auto ids = w.index().AllChunkIds();
    ASSERT_TRUE(ids.ok());
    auto st = w.shard().db().Prepare("SELECT id FROM chunks ORDER BY id");
    ASSERT_TRUE(st.ok());
    std::vector<int64_t> db_ids;
    while (*st->Step()) db_ids.push_back(st->ColumnInt(0));
    EXPECT_EQ(*ids, db_ids);
    int64_t max_seq = 0;
    EXPECT_TRUE(w.shard().DirtyChunks(&max_seq)->empty());
  }

  testing::TempDir dir_;
  fs::path docs_;
  std::string shard_dir_;
};

TEST_F(KbPipelineTest, IngestsFolderAndFindsChineseEnglishAndCodes) {
  auto w = Writer();
  ASSERT_TRUE(w);
  IngestOptions opt;
  auto stats = w->AddFiles(1, {docs_.string()}, opt);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->jobs, 2u);  // the hidden folder is skipped
  EXPECT_EQ(stats->added, 2u);
  EXPECT_EQ(stats->failed, 0u) << (stats->errors.empty() ? "" : stats->errors[0]);
  ExpectConsistent(*w);
  EXPECT_TRUE(w->shard().UnfinishedJobs(1)->empty());
  w.reset();
  EXPECT_EQ(SearchSources("付款期限"), (std::vector<std::string>{"contract.md"}));
  EXPECT_EQ(SearchSources("PPR-9087"), (std::vector<std::string>{"contract.md"}));
  EXPECT_EQ(SearchSources("inspect turbines"), (std::vector<std::string>{"notes.txt"}));
  EXPECT_EQ(SearchSources("付款"), (std::vector<std::string>{"contract.md"}));
  EXPECT_TRUE(SearchSources("\"blades turbine\"").empty());  // phrase order matters
  EXPECT_EQ(SearchSources("\"turbine blades\""), (std::vector<std::string>{"notes.txt"}));
  // Heading path and snippet highlighting of the hit.
  auto s = Searcher::Open(shard_dir_, &TheAnalyzer());
  SearchRequest req;
  req.query = "交货";
  auto hits = (*s)->Search(1, req);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ((*hits)[0].heading_path, "采购合同 > 第二条 交货");
  ASSERT_FALSE((*hits)[0].highlights.empty());
  const auto [b, e] = (*hits)[0].highlights[0];
  EXPECT_EQ((*hits)[0].snippet.substr(b, e - b), "交货");
}

TEST_F(KbPipelineTest, UnchangedIsNoOpChangedReplacesDeletedDisappears) {
  auto w = Writer();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->AddFiles(1, {docs_.string()}, {}).ok());
  auto again = w->AddFiles(1, {docs_.string()}, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged, 2u);
  EXPECT_EQ(again->added + again->updated, 0u);

  testing::WriteFile(docs_ / "sub" / "notes.txt", "Meeting notes: the compressor needs replacing.\n");
  auto changed = w->AddFiles(1, {docs_.string()}, {});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->updated, 1u);
  EXPECT_EQ(changed->unchanged, 1u);
  ExpectConsistent(*w);
  EXPECT_EQ(*w->index().TermFrequency("turbin"), 0u);
  EXPECT_EQ(*w->index().TermFrequency("compressor"), 1u);

  ASSERT_TRUE(w->RemoveDocument(1, (docs_ / "contract.md").string()).ok());
  ExpectConsistent(*w);
  EXPECT_EQ(*w->index().TermFrequency("付款"), 0u);
  EXPECT_EQ(w->RemoveDocument(1, (docs_ / "contract.md").string()).code(), StatusCode::kNotFound);
  EXPECT_EQ(w->shard().ListDocuments(1)->size(), 1u);
}

TEST_F(KbPipelineTest, BadFilesFailTheirJobOnly) {
  testing::WriteFile(docs_ / "broken.json", "{\"a\": [1, 2,");
  auto w = Writer();
  ASSERT_TRUE(w);
  auto stats = w->AddFiles(1, {docs_.string()}, {});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->failed, 1u);
  EXPECT_EQ(stats->added, 2u);
  ASSERT_EQ(stats->errors.size(), 1u);
  EXPECT_NE(stats->errors[0].find("broken.json"), std::string::npos);
  auto jobs = w->shard().ListJobs(1, 10);
  ASSERT_TRUE(jobs.ok());
  auto failed = std::find_if(jobs->begin(), jobs->end(), [](const JobRecord& j) { return j.state == JobState::kFailed; });
  ASSERT_NE(failed, jobs->end());
  EXPECT_FALSE(failed->error.empty());
  EXPECT_EQ(w->AddFiles(1, {(dir_.path() / "missing").string()}, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(KbPipelineTest, IndexCatchesUpWithWorkACrashLeftBehind) {
  {
    auto w = Writer();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->AddFiles(1, {docs_.string()}, {}).ok());
  }
  // A process that committed to the database and died before the index commit.
  {
    auto shard = Shard::Open(ShardDbPath(shard_dir_));
    ASSERT_TRUE(shard.ok());
    DocumentRecord doc;
    doc.kb_id = 1;
    doc.source = "/virtual/late.txt";
    doc.title = "late";
    doc.mime_type = "text/plain";
    doc.doc_type = "text";
    doc.sha256 = "ab";
    std::vector<ChunkRecord> chunks(1);
    chunks[0].text = "A zeppelin arrived late.";
    auto txn = sql::Transaction::Begin(shard->db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(shard->PutDocument(doc, chunks).ok());
    auto old = shard->FindDocument(1, (docs_ / "sub" / "notes.txt").string());
    ASSERT_TRUE(old.ok());
    ASSERT_TRUE(shard->DeleteDocument(old->id).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto w = Writer();  // Open() recovers
  ASSERT_TRUE(w);
  ExpectConsistent(*w);
  EXPECT_EQ(*w->index().TermFrequency("zeppelin"), 1u);
  EXPECT_EQ(*w->index().TermFrequency("turbin"), 0u);
}

}  // namespace
}  // namespace dv::kb
