#include "common/config.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace dv {
namespace {

using ::dv::testing::TempDir;
using ::dv::testing::WriteFile;

// A schema with one key of every type.
std::vector<ConfigKeySpec> TestSchema() {
  return {
      {"server.port", ConfigType::kInt, "11435", 1, 65535, {}, ""},
      {"server.host", ConfigType::kString, "127.0.0.1", 0, 0, {}, ""},
      {"server.tls", ConfigType::kBool, "false", 0, 0, {}, ""},
      {"sampling.temperature", ConfigType::kDouble, "0.6", 0, 2, {}, ""},
      {"log.level", ConfigType::kEnum, "info", 0, 0, {"debug", "info", "warn"}, ""},
      {"data_dir", ConfigType::kPath, "/var/lib/dv", 0, 0, {}, ""},
  };
}

Result<Config> LoadWith(const std::string& toml, std::map<std::string, std::string> env,
                        std::vector<std::pair<std::string, std::string>> flags, TempDir& dir) {
  ConfigSources src;
  if (!toml.empty()) {
    src.file = dir.path() / "c.toml";
    WriteFile(*src.file, toml);
  }
  src.env = std::move(env);
  src.flags = std::move(flags);
  return Config::Load(TestSchema(), src);
}

TEST(ConfigTest, DefaultsApply) {
  TempDir dir;
  auto cfg = LoadWith("", {}, {}, dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->GetInt("server.port"), 11435);
  EXPECT_EQ(cfg->GetString("server.host"), "127.0.0.1");
  EXPECT_FALSE(cfg->GetBool("server.tls"));
  EXPECT_DOUBLE_EQ(cfg->GetDouble("sampling.temperature"), 0.6);
  EXPECT_EQ(cfg->SourceOf("server.port"), "default");
}

TEST(ConfigTest, PrecedenceDefaultFileEnvFlag) {
  TempDir dir;
  const std::string toml = "[server]\nport = 1000\nhost = \"0.0.0.0\"\ntls = true\n[log]\nlevel = \"warn\"\n";
  auto cfg = LoadWith(toml, {{"DEEPVAULT_SERVER_PORT", "2000"}, {"DEEPVAULT_LOG_LEVEL", "debug"}},
                      {{"server.port", "3000"}}, dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->GetInt("server.port"), 3000);            // flag beats env and file
  EXPECT_EQ(cfg->SourceOf("server.port"), "flag");
  EXPECT_EQ(cfg->GetString("log.level"), "debug");        // env beats file
  EXPECT_EQ(cfg->SourceOf("log.level"), "env DEEPVAULT_LOG_LEVEL");
  EXPECT_EQ(cfg->GetString("server.host"), "0.0.0.0");    // file beats default
  EXPECT_EQ(cfg->SourceOf("server.host").rfind("file ", 0), 0u);
  EXPECT_TRUE(cfg->GetBool("server.tls"));
  EXPECT_EQ(cfg->GetDouble("sampling.temperature"), 0.6);  // default
}

TEST(ConfigTest, LaterFlagsWin) {
  TempDir dir;
  auto cfg = LoadWith("", {}, {{"server.port", "1"}, {"server.port", "2"}}, dir);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->GetInt("server.port"), 2);
}

void ExpectError(const Result<Config>& r, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  for (const auto& f : fragments) {
    EXPECT_NE(r.status().message().find(f), std::string::npos) << "missing \"" << f << "\" in: " << r.status().message();
  }
}

TEST(ConfigTest, IntOutOfRangeNamesKeyRangeAndSource) {
  TempDir dir;
  ExpectError(LoadWith("", {{"DEEPVAULT_SERVER_PORT", "70000"}}, {}, dir),
              {"\"server.port\"", "env DEEPVAULT_SERVER_PORT", "70000", "1..65535"});
  ExpectError(LoadWith("[server]\nport = 0\n", {}, {}, dir), {"\"server.port\"", "file ", "1..65535"});
  ExpectError(LoadWith("", {}, {{"server.port", "-5"}}, dir), {"\"server.port\"", "flag", "1..65535"});
}

TEST(ConfigTest, IntSyntaxErrors) {
  TempDir dir;
  ExpectError(LoadWith("", {}, {{"server.port", "80x"}}, dir), {"\"server.port\"", "not an integer"});
  ExpectError(LoadWith("", {}, {{"server.port", ""}}, dir), {"\"server.port\""});
  ExpectError(LoadWith("", {}, {{"server.port", "99999999999999999999999"}}, dir), {"64-bit"});
}

TEST(ConfigTest, WrongTomlType) {
  TempDir dir;
  ExpectError(LoadWith("[server]\nport = \"80\"\n", {}, {}, dir), {"\"server.port\"", "expected an integer", "string"});
  ExpectError(LoadWith("[server]\ntls = 1\n", {}, {}, dir), {"\"server.tls\"", "expected a boolean"});
  ExpectError(LoadWith("[log]\nlevel = 3\n", {}, {}, dir), {"\"log.level\""});
  ExpectError(LoadWith("[server]\nport = [1, 2]\n", {}, {}, dir), {"server.port", "arrays are not supported"});
}

TEST(ConfigTest, DoubleAcceptsTomlIntegerAndChecksRange) {
  TempDir dir;
  auto cfg = LoadWith("[sampling]\ntemperature = 1\n", {}, {}, dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_DOUBLE_EQ(cfg->GetDouble("sampling.temperature"), 1.0);
  ExpectError(LoadWith("[sampling]\ntemperature = 2.5\n", {}, {}, dir), {"\"sampling.temperature\"", "0..2"});
  ExpectError(LoadWith("", {{"DEEPVAULT_SAMPLING_TEMPERATURE", "nan"}}, {}, dir), {"\"sampling.temperature\""});
  ExpectError(LoadWith("", {{"DEEPVAULT_SAMPLING_TEMPERATURE", "hot"}}, {}, dir), {"not a number"});
}

TEST(ConfigTest, BoolSpellings) {
  TempDir dir;
  for (const char* t : {"true", "1", "yes", "on", "TRUE"}) {
    auto cfg = LoadWith("", {{"DEEPVAULT_SERVER_TLS", t}}, {}, dir);
    ASSERT_TRUE(cfg.ok()) << t;
    EXPECT_TRUE(cfg->GetBool("server.tls")) << t;
  }
  for (const char* f : {"false", "0", "no", "off"}) {
    auto cfg = LoadWith("", {{"DEEPVAULT_SERVER_TLS", f}}, {}, dir);
    ASSERT_TRUE(cfg.ok()) << f;
    EXPECT_FALSE(cfg->GetBool("server.tls")) << f;
  }
  ExpectError(LoadWith("", {{"DEEPVAULT_SERVER_TLS", "maybe"}}, {}, dir), {"\"server.tls\"", "not a boolean"});
}

TEST(ConfigTest, EnumListsChoices) {
  TempDir dir;
  ExpectError(LoadWith("", {}, {{"log.level", "verbose"}}, dir), {"\"log.level\"", "\"verbose\"", "debug, info, warn"});
}

TEST(ConfigTest, StringLimits) {
  TempDir dir;
  ExpectError(LoadWith("", {}, {{"server.host", std::string(5000, 'a')}}, dir), {"\"server.host\"", "4096"});
  ExpectError(LoadWith("", {}, {{"server.host", std::string("a\0b", 3)}}, dir), {"NUL"});
}

TEST(ConfigTest, PathExpandsHomeAndRejectsEmpty) {
  TempDir dir;
  setenv("HOME", "/home/tester", 1);
  auto cfg = LoadWith("", {}, {{"data_dir", "~/dv"}}, dir);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->GetString("data_dir"), "/home/tester/dv");
  ExpectError(LoadWith("", {}, {{"data_dir", ""}}, dir), {"\"data_dir\"", "must not be empty"});
}

TEST(ConfigTest, UnknownKeys) {
  TempDir dir;
  ExpectError(LoadWith("[server]\nprot = 80\n", {}, {}, dir), {"unknown key", "\"server.prot\""});
  ExpectError(LoadWith("", {}, {{"nope", "1"}}, dir), {"unknown config key", "\"nope\""});
  auto cfg = LoadWith("", {{"DEEPVAULT_SERVER_PROT", "80"}, {"OTHER_VAR", "x"}}, {}, dir);
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->warnings().size(), 1u);
  EXPECT_NE(cfg->warnings()[0].find("DEEPVAULT_SERVER_PROT"), std::string::npos);
}

TEST(ConfigTest, TomlSyntaxErrorHasLineNumber) {
  TempDir dir;
  ExpectError(LoadWith("[server]\nport = = 3\n", {}, {}, dir), {"line 2"});
}

TEST(ConfigTest, MissingFileIsNotFound) {
  ConfigSources src;
  src.file = "/nonexistent/deepvault.toml";
  auto cfg = Config::Load(TestSchema(), src);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kNotFound);
}

TEST(ConfigTest, ToTomlRoundTrips) {
  TempDir dir;
  auto cfg = LoadWith("[server]\nport = 8080\n", {}, {{"sampling.temperature", "1.5"}}, dir);
  ASSERT_TRUE(cfg.ok());
  const std::string dumped = cfg->ToToml();
  EXPECT_NE(dumped.find("[server]"), std::string::npos);
  EXPECT_NE(dumped.find("port = 8080"), std::string::npos);
  // The dump is itself a valid config with the same values.
  auto again = LoadWith(dumped, {}, {}, dir);
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << dumped;
  EXPECT_EQ(again->GetInt("server.port"), 8080);
  EXPECT_DOUBLE_EQ(again->GetDouble("sampling.temperature"), 1.5);
}

TEST(ConfigTest, EnvNames) {
  EXPECT_EQ(EnvNameForKey("server.port"), "DEEPVAULT_SERVER_PORT");
  EXPECT_EQ(EnvNameForKey("log.file"), "DEEPVAULT_LOG_FILE");
  EXPECT_EQ(EnvNameForKey("data_dir"), "DEEPVAULT_DATA_DIR");
}

TEST(ConfigTest, DefaultSchemaLoads) {
  auto cfg = Config::Load(DefaultConfigSchema(), {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->GetInt("threads"), 0);
  EXPECT_EQ(cfg->GetString("log.format"), "text");
}

}  // namespace
}  // namespace dv
