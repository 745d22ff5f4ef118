// Catalog and shard databases: migrations from v1, validation, job bookkeeping, dirty rows.
#include <gtest/gtest.h>

#include "kb/store/catalog.h"
#include "kb/store/shard.h"
#include "test_util.h"

namespace dv::kb {
namespace {

TEST(KbStoreTest, CatalogMigratesFromVersionOne) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "catalog.db").string();
  {
    auto db = sql::Database::Open(path);
    ASSERT_TRUE(db.ok());
    size_t count = 0;
    const sql::Migration* migrations = CatalogMigrations(&count);
    ASSERT_TRUE(sql::Migrate(*db, migrations, 1, "catalog").ok());
    ASSERT_EQ(*sql::SchemaVersion(*db), 1);
    ASSERT_TRUE(db->Exec("INSERT INTO organisations VALUES (1, 'acme', 100);"
                         "INSERT INTO departments VALUES (1, 1, 'legal', 100);"
                         "INSERT INTO kbs VALUES (1, 'contracts', 1, NULL, 100);"
                         "INSERT INTO kbs VALUES (2, 'alice-notes', NULL, 'alice', 200);"
                         "INSERT INTO kbs VALUES (3, 'alice-mail', NULL, 'alice', 300);").ok());
  }
  auto catalog = Catalog::Open(path);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ(*sql::SchemaVersion(catalog->db()), Catalog::kSchemaVersion);
  auto kbs = catalog->ListKbs();
  ASSERT_TRUE(kbs.ok());
  ASSERT_EQ(kbs->size(), 3u);
  // ORDER BY name: alice-mail, alice-notes, contracts.
  EXPECT_EQ((*kbs)[0].owner, "alice");
  EXPECT_EQ((*kbs)[1].owner, "alice");
  EXPECT_EQ((*kbs)[0].shard, (*kbs)[1].shard);  // one shard per owner
  EXPECT_EQ((*kbs)[0].shard.rfind("user-", 0), 0u);
  EXPECT_EQ((*kbs)[2].department, "legal");
  EXPECT_EQ((*kbs)[2].organisation, "acme");
  EXPECT_EQ((*kbs)[2].shard, "dept-1");
  EXPECT_EQ((*kbs)[1].created_at, 200);
  // Opening again is a no-op.
  auto again = Catalog::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ListKbs()->size(), 3u);
}

TEST(KbStoreTest, CatalogCreatesAndValidates) {
  testing::TempDir dir;
  auto catalog = Catalog::Open((dir.path() / "c.db").string());
  ASSERT_TRUE(catalog.ok());
  auto a = catalog->CreateKb("法规库", "法务部", "");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->department, "法务部");
  auto b = catalog->CreateKb("notes", "", "bob");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->shard, b->shard);
  auto c = catalog->CreateKb("policies", "法务部", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(a->shard, c->shard);  // same department, same shard
  EXPECT_EQ(catalog->CreateKb("notes", "x", "").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(catalog->CreateKb("x", "d", "u").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog->CreateKb("../etc", "d", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog->CreateKb("a/b", "d", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog->CreateKb(std::string("a\x01", 2), "d", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog->CreateKb(std::string(101, 'a'), "d", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog->FindKb("nope").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(catalog->DeleteKb("notes").ok());
  EXPECT_EQ(catalog->DeleteKb("notes").code(), StatusCode::kNotFound);
}

TEST(KbStoreTest, RefusesNewerSchemaAndNonDatabases) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "future.db").string();
  {
    auto db = sql::Database::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version=99").ok());
  }
  auto future = Catalog::Open(path);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(future.status().message().find("newer"), std::string::npos);

  const auto junk = dir.path() / "junk.db";
  testing::WriteFile(junk, std::string(4096, 'J'));
  auto bad = Shard::Open(junk.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss) << bad.status().ToString();
}

TEST(KbStoreTest, ShardReplacesChunksAndRecordsDirtyRows) {
  testing::TempDir dir;
  auto shard = Shard::Open((dir.path() / "shard.db").string());
  ASSERT_TRUE(shard.ok());
  EXPECT_EQ(*sql::SchemaVersion(shard->db()), Shard::kSchemaVersion);
  DocumentRecord doc;
  doc.kb_id = 7;
  doc.source = "/x/a.md";
  doc.title = "A";
  doc.mime_type = "text/markdown";
  doc.doc_type = "markdown";
  doc.sha256 = "00";
  std::vector<ChunkRecord> chunks(2);
  chunks[0].text = "one";
  chunks[1].text = "two";
  auto id = shard->PutDocument(doc, chunks);
  ASSERT_TRUE(id.ok());
  EXPECT_GT(chunks[1].id, chunks[0].id);
  const std::vector<int64_t> old_ids = {chunks[0].id, chunks[1].id};
  // Replace with one chunk: the old ids and the new id are dirty.
  std::vector<ChunkRecord> replacement(1);
  replacement[0].text = "three";
  doc.sha256 = "11";
  auto id2 = shard->PutDocument(doc, replacement);
  ASSERT_TRUE(id2.ok());
  EXPECT_EQ(*id2, *id);
  int64_t max_seq = 0;
  auto dirty = shard->DirtyChunks(&max_seq);
  ASSERT_TRUE(dirty.ok());
  EXPECT_EQ(*dirty, (std::vector<int64_t>{old_ids[0], old_ids[1], old_ids[0], old_ids[1], replacement[0].id}));
  EXPECT_TRUE(shard->GetChunks(old_ids)->empty());
  EXPECT_EQ(shard->FindDocument(7, "/x/a.md")->sha256, "11");
  EXPECT_EQ(shard->FindDocument(7, "/x/a.md")->chunk_count, 1);
  ASSERT_TRUE(shard->ClearDirty(max_seq).ok());
  EXPECT_TRUE(shard->DirtyChunks(&max_seq)->empty());
  ASSERT_TRUE(shard->DeleteDocument(*id).ok());
  EXPECT_EQ(*shard->DirtyChunks(&max_seq), (std::vector<int64_t>{replacement[0].id}));
  EXPECT_EQ(shard->FindDocument(7, "/x/a.md").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*shard->CountChunks(7), 0);
}

TEST(KbStoreTest, JobStateMachine) {
  testing::TempDir dir;
  auto shard = Shard::Open((dir.path() / "shard.db").string());
  ASSERT_TRUE(shard.ok());
  auto a = shard->QueueJob(1, "/a");
  auto b = shard->QueueJob(1, "/b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*shard->QueueJob(1, "/a"), *a);  // an unfinished job is reused
  ASSERT_TRUE(shard->UpdateJob(*a, JobState::kExtracting, 0.1, "").ok());
  ASSERT_TRUE(shard->UpdateJob(*b, JobState::kFailed, 1, "bad file").ok());
  auto open = shard->UnfinishedJobs(1);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].state, JobState::kExtracting);
  ASSERT_TRUE(shard->UpdateJob(*a, JobState::kDone, 1, "").ok());
  EXPECT_TRUE(shard->UnfinishedJobs(1)->empty());
  EXPECT_NE(*shard->QueueJob(1, "/a"), *a);  // a finished job is not reopened
  auto all = shard->ListJobs(1, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].error, "bad file");
  EXPECT_EQ(JobStateName(JobState::kIndexing), "indexing");
  EXPECT_EQ(ParseJobState("chunking").value(), JobState::kChunking);
  EXPECT_EQ(ParseJobState("bogus").status().code(), StatusCode::kDataLoss);
  // The database refuses a state outside the machine.
  EXPECT_FALSE(shard->db().Exec("UPDATE jobs SET state = 'bogus'").ok());
}

}  // namespace
}  // namespace dv::kb
