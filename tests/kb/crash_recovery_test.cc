// Crash recovery: `deepvault kb add` is killed with SIGKILL at random moments while ingesting a
// folder, several times; a final run completes the jobs. The shard must then hold exactly the
// folder's documents, the index exactly the database's chunks, and every file must be findable.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "kb/service/knowledge_bases.h"
#include "test_util.h"

extern char** environ;

namespace dv::kb {
namespace {

namespace fs = std::filesystem;

// A unique made-up word for file i, so each file is findable on its own.
std::string Marker(int i) {
  std::string w = "zq";
  for (int n = i; n > 0 || w.size() == 2; n /= 26) w += static_cast<char>('a' + n % 26);
  return w + "x";
}

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

TEST(KbCrashRecoveryTest, KillNineDuringIngestionThenResume) {
  const fs::path binary = testing::BinaryPath("deepvault");
  if (!fs::exists(binary)) GTEST_SKIP() << "deepvault binary not built: " << binary;
  testing::TempDir dir;
  const std::string data = (dir.path() / "data").string();
  const fs::path docs = dir.path() / "docs";
  constexpr int kFiles = 240;
  for (int i = 0; i < kFiles; ++i) {
    std::string body = "# 文件 " + std::to_string(i) + "\n\n";
    for (int p = 0; p < 40; ++p) {
      body += "第" + std::to_string(p) + "段：合同双方应当遵守约定，履行各自的义务。The parties shall perform "
              "their obligations in good faith. ";
      if (p == 20) body += Marker(i) + " ";
    }
    std::string folder = "d", file = "f";  // built by appending (GCC 12 -Wrestrict false positive on "x" + s)
    folder += std::to_string(i % 7);
    file += std::to_string(i);
    file += ".md";
    testing::WriteFile(docs / folder / file, body + "\n");
  }
  auto create = testing::RunCommand(binary.string() + " --data-dir " + data + " kb create crash");
  ASSERT_EQ(create.exit_code, 0) << create.err;

  std::mt19937 rng(12345);
  int killed_mid_run = 0;
  for (int round = 0; round < 5; ++round) {
    pid_t pid = Spawn({binary.string(), "--data-dir", data, "kb", "add", "crash", docs.string()});
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 900));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      ++killed_mid_run;
    }
    waitpid(pid, &status, 0);
  }
  auto final_run = testing::RunCommand(binary.string() + " kb add crash " + docs.string() + " --data-dir " + data);
  ASSERT_EQ(final_run.exit_code, 0) << final_run.out << final_run.err;
  RecordProperty("killed_mid_run", killed_mid_run);

  auto kbs = KnowledgeBases::Open(data);
  ASSERT_TRUE(kbs.ok());
  auto info = (*kbs)->Find("crash");
  ASSERT_TRUE(info.ok());
  const std::string shard_dir = (*kbs)->ShardDir(*info);
  auto shard = Shard::Open(ShardDbPath(shard_dir));
  ASSERT_TRUE(shard.ok());
  {
    auto st = shard->db().Prepare("PRAGMA integrity_check");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnText(0), "ok");
  }
  auto documents = shard->ListDocuments(info->id);
  ASSERT_TRUE(documents.ok());
  ASSERT_EQ(documents->size(), static_cast<size_t>(kFiles));
  for (const DocumentRecord& d : *documents) {
    EXPECT_TRUE(fs::exists(d.source)) << d.source;
    auto st = shard->db().Prepare("SELECT count(*) FROM chunks WHERE doc_id = ?");
    st->Bind(1, d.id);
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnInt(0), d.chunk_count) << d.source;
    EXPECT_GT(d.chunk_count, 0);
  }
  EXPECT_TRUE(shard->UnfinishedJobs(info->id)->empty());
  int64_t max_seq = 0;
  EXPECT_TRUE(shard->DirtyChunks(&max_seq)->empty());
  auto index = LexicalIndex::OpenReadOnly(ShardIndexPath(shard_dir));
  ASSERT_TRUE(index.ok());
  auto st = shard->db().Prepare("SELECT id FROM chunks ORDER BY id");
  std::vector<int64_t> db_ids;
  while (*st->Step()) db_ids.push_back(st->ColumnInt(0));
  EXPECT_EQ(*(*index)->AllChunkIds(), db_ids);
  for (int i = 0; i < kFiles; i += 17) {
    SearchRequest req;
    req.query = Marker(i);
    auto hits = (*kbs)->Search("crash", req);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u) << Marker(i);
    std::string expected = "f";
    expected += std::to_string(i);
    expected += ".md";
    EXPECT_EQ(fs::path((*hits)[0].source).filename(), expected);
  }
}

}  // namespace
}  // namespace dv::kb
