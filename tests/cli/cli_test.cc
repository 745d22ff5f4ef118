// End-to-end tests of the `deepvault` executable's foundation commands.
#include <gtest/gtest.h>

#include "test_util.h"

namespace dv {
namespace {

using ::dv::testing::BinaryPath;
using ::dv::testing::RunCommand;
using ::dv::testing::TempDir;
using ::dv::testing::WriteFile;

// The binary with DEEPVAULT_* variables of the test runner cleared and `env` set.
std::string Dv(const std::string& env = "") {
  return "env -u DEEPVAULT_THREADS -u DEEPVAULT_LOG_LEVEL -u DEEPVAULT_DATA_DIR " + env + " '" +
         BinaryPath("deepvault").string() + "'";
}

TEST(CliTest, Version) {
  auto r = RunCommand(Dv() + " version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("deepvault 0.", 0), 0u) << r.out;
  auto j = RunCommand(Dv() + " version --json");
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_NE(j.out.find("\"version\":\"0."), std::string::npos) << j.out;
}

TEST(CliTest, ConfigCheckPrintsEffectiveConfigWithSources) {
  TempDir dir;
  WriteFile(dir.path() / "dv.toml", "threads = 4\n[log]\nformat = \"json\"\n");
  auto r = RunCommand(Dv("DEEPVAULT_LOG_LEVEL=debug") + " config check " + (dir.path() / "dv.toml").string() +
                      " --set threads=6");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("threads = 6  # flag"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("format = 'json'  # file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("level = 'debug'  # env DEEPVAULT_LOG_LEVEL"), std::string::npos) << r.out;
}

TEST(CliTest, ConfigCheckNamesTheProblem) {
  TempDir dir;
  WriteFile(dir.path() / "bad.toml", "threads = 5000\n");
  auto r = RunCommand(Dv() + " config check " + (dir.path() / "bad.toml").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("\"threads\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0..1024"), std::string::npos) << r.err;

  auto missing = RunCommand(Dv() + " config check /nonexistent.toml");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent.toml"), std::string::npos);

  auto bad_set = RunCommand(Dv() + " config check --set threads");
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.err.find("KEY=VALUE"), std::string::npos) << bad_set.err;
}

TEST(CliTest, GlobalOptionsBeforeOrAfterSubcommand) {
  auto before = RunCommand(Dv() + " --data-dir /tmp/dvx config check");
  auto after = RunCommand(Dv() + " config check --data-dir /tmp/dvx");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(before.out.find("data_dir = '/tmp/dvx'  # flag"), std::string::npos) << before.out;
  EXPECT_EQ(before.out, after.out);
}

TEST(CliTest, UnknownSubcommandFails) {
  auto r = RunCommand(Dv() + " frobnicate");
  EXPECT_NE(r.exit_code, 0);
  auto none = RunCommand(Dv());
  EXPECT_NE(none.exit_code, 0);
}

}  // namespace
}  // namespace dv
