#include "common/logging.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <sstream>

#include "test_util.h"

namespace dv::logging {
namespace {

TEST(LoggingTest, JsonLineEscapesAndParses) {
  const std::string line = FormatJsonLine("2026-01-01T00:00:00.000Z", "info", "quote \" back \\ nl \n tab \t \x01 中文", "req-1");
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "quote \" back \\ nl \n tab \t \x01 中文");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["request_id"], "req-1");
}

TEST(LoggingTest, JsonLineOmitsEmptyRequestId) {
  auto j = nlohmann::json::parse(FormatJsonLine("t", "warning", "m", ""));
  EXPECT_FALSE(j.contains("request_id"));
}

TEST(LoggingTest, RejectsUnknownLevel) {
  Options o;
  o.level = "loud";
  Status s = Init(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("loud"), std::string::npos);
  EXPECT_EQ(ParseFormat("xml").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
}

TEST(LoggingTest, UnwritableFileIsUnavailable) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "plain-file", "x");
  Options o;
  o.file = (dir.path() / "plain-file" / "x.log").string();  // a directory that cannot exist
  EXPECT_EQ(Init(o).code(), StatusCode::kUnavailable);
}

TEST(LoggingTest, JsonFileGetsOneObjectPerLineWithRequestId) {
  testing::TempDir dir;
  Options o;
  o.level = "debug";
  o.format = Format::kJson;
  o.file = (dir.path() / "log.jsonl").string();
  ASSERT_TRUE(Init(o).ok());
  {
    ScopedRequestId outer("r-outer");
    {
      ScopedRequestId inner("r-inner");
      spdlog::info("inside {}", 1);
    }
    EXPECT_EQ(CurrentRequestId(), "r-outer");
    spdlog::debug("after");
  }
  spdlog::trace("filtered out");
  EXPECT_EQ(CurrentRequestId(), "");
  spdlog::default_logger()->flush();
  std::istringstream in(testing::ReadFile(o.file));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "inside 1");
  EXPECT_EQ(lines[0]["request_id"], "r-inner");
  EXPECT_EQ(lines[1]["level"], "debug");
  EXPECT_EQ(lines[1]["request_id"], "r-outer");
  ASSERT_TRUE(Init(Options{}).ok());  // back to stderr
}

TEST(LoggingTest, TextFormatTagsRequestId) {
  testing::TempDir dir;
  Options o;
  o.file = (dir.path() / "log.txt").string();
  ASSERT_TRUE(Init(o).ok());
  {
    ScopedRequestId id("abc123");
    spdlog::warn("hello");
  }
  spdlog::default_logger()->flush();
  const std::string text = testing::ReadFile(o.file);
  EXPECT_NE(text.find("[req=abc123] hello"), std::string::npos) << text;
  ASSERT_TRUE(Init(Options{}).ok());
}

}  // namespace
}  // namespace dv::logging
