// Config `[[models]]` entries: what a valid file yields, and that every kind of bad entry is
// rejected with an error naming the key and the file it came from.
#include <gtest/gtest.h>

#include "common/config.h"
#include "test_util.h"

namespace dv {
namespace {

using dv::testing::TempDir;
using dv::testing::WriteFile;

class ServerConfigModels : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.path() / "a.gguf", "not read by the config");
    WriteFile(dir_.path() / "b.gguf", "not read by the config");
    std::filesystem::create_directories(dir_.path() / "hf");
    WriteFile(dir_.path() / "hf" / "config.json", "{}");
  }
  Result<Config> Load(const std::string& toml) {
    const auto file = dir_.path() / "deepvault.toml";
    WriteFile(file, toml);
    ConfigSources sources;
    sources.file = file;
    return Config::Load(DefaultConfigSchema(), sources);
  }
  // The load fails and the message names `key` and the config file.
  void ExpectError(const std::string& toml, const std::string& key, const std::string& what) {
    auto cfg = Load(toml);
    ASSERT_FALSE(cfg.ok()) << toml;
    const std::string msg = cfg.status().Describe();
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
    EXPECT_NE(msg.find((dir_.path() / "deepvault.toml").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
  TempDir dir_;
};

TEST_F(ServerConfigModels, EntriesWithFilesVersionsAndSettings) {
  auto cfg = Load(R"(
[server]
port = 12000

[[models]]
alias = "small"
file = "a.gguf"
context = 2048
threads = 2
parallel = 3
temperature = 0.6
top_p = 0.95
top_k = 40
min_p = 0.05

[[models]]
alias = "deepseek-r1"
fallback = "small"
versions = [
  { name = "v1.1", file = "a.gguf", weight = 90 },
  { name = "v1.2", file = "hf", weight = 10 },
]
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status().Describe();
  EXPECT_EQ(cfg->GetInt("server.port"), 12000);
  const auto& m = cfg->models();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].alias, "small");
  EXPECT_EQ(m[0].file, (dir_.path() / "a.gguf").lexically_normal());  // relative to the config file
  EXPECT_EQ(m[0].context, 2048);
  EXPECT_EQ(m[0].threads, 2);
  EXPECT_EQ(m[0].parallel, 3);
  EXPECT_DOUBLE_EQ(m[0].temperature.value(), 0.6);
  EXPECT_DOUBLE_EQ(m[0].top_p.value(), 0.95);
  EXPECT_EQ(m[0].top_k, 40);
  EXPECT_DOUBLE_EQ(m[0].min_p.value(), 0.05);
  EXPECT_TRUE(m[0].versions.empty());
  EXPECT_EQ(m[1].alias, "deepseek-r1");
  EXPECT_TRUE(m[1].file.empty());
  EXPECT_EQ(m[1].fallback, "small");
  EXPECT_FALSE(m[1].temperature.has_value());
  ASSERT_EQ(m[1].versions.size(), 2u);
  EXPECT_EQ(m[1].versions[0].name, "v1.1");
  EXPECT_DOUBLE_EQ(m[1].versions[0].weight, 90);
  EXPECT_EQ(m[1].versions[1].file, (dir_.path() / "hf").lexically_normal());
}

TEST_F(ServerConfigModels, NoModelsArrayMeansNoEntries) {
  auto cfg = Load("[server]\nport = 1\n");
  ASSERT_TRUE(cfg.ok());
  EXPECT_TRUE(cfg->models().empty());
}

TEST_F(ServerConfigModels, BadEntriesNameTheKeyAndTheFile) {
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\ntempurature = 0.5\n", "models[0].tempurature",
              "unknown key");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"missing.gguf\"\n", "models[0].file", "missing.gguf");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\ntemperature = 3.5\n", "models[0].temperature",
              "out of range");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\ncontext = \"big\"\n", "models[0].context",
              "expected an integer");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\ntop_p = 0\n", "models[0].top_p", "out of range");
  ExpectError("[[models]]\nfile = \"a.gguf\"\n", "models[0].alias", "required");
  ExpectError("[[models]]\nalias = \"a b\"\nfile = \"a.gguf\"\n", "models[0].alias", "character");
  ExpectError("[[models]]\nalias = \"x:y\"\nfile = \"a.gguf\"\n", "models[0].alias", "character");
  ExpectError("[[models]]\nalias = \"x\"\n", "models[0]", "exactly one of file and versions");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\nversions = [{name = \"v\", file = \"a.gguf\", weight = 1}]\n",
              "models[0]", "exactly one of file and versions");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\n[[models]]\nalias = \"x\"\nfile = \"b.gguf\"\n",
              "models[1].alias", "already used");
  ExpectError("[[models]]\nalias = \"x\"\nversions = [{name = \"v\", file = \"a.gguf\", weight = 0}]\n",
              "models[0].versions", "add up to 0");
  ExpectError("[[models]]\nalias = \"x\"\nversions = [{name = \"v\", file = \"a.gguf\", weight = -1}]\n",
              "models[0].versions[0].weight", "out of range");
  ExpectError("[[models]]\nalias = \"x\"\nversions = [{name = \"v\", file = \"a.gguf\", weight = 1}, "
              "{name = \"v\", file = \"b.gguf\", weight = 1}]\n",
              "models[0].versions[1].name", "twice");
  ExpectError("[[models]]\nalias = \"x\"\nversions = [{name = \"v\", file = \"a.gguf\"}]\n", "models[0].versions[0]",
              "needs name, file and weight");
  ExpectError("[[models]]\nalias = \"x\"\nversions = [{name = \"v\", file = \"a.gguf\", weight = 1, extra = 2}]\n",
              "models[0].versions[0].extra", "unknown key");
  ExpectError("[[models]]\nalias = \"x\"\nversions = []\n", "models[0].versions", "1..16");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\nfallback = \"x\"\n", "models[0].fallback", "own fallback");
  ExpectError("[models]\nx = 1\n", "models", "[[models]]");
  ExpectError("[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\n[server.cache]\nmax_bytes = -1\n", "server.cache.max_bytes",
              "out of range");
}

TEST_F(ServerConfigModels, ServeRejectsABadConfigWithTheKeyAndExitCode2) {
  const auto file = dir_.path() / "bad.toml";
  WriteFile(file, "[[models]]\nalias = \"x\"\nfile = \"a.gguf\"\nthreads = 5000\n");
  auto r = dv::testing::RunCommand(dv::testing::BinaryPath("deepvault").string() + " serve --config " + file.string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("models[0].threads"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.toml"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dv
