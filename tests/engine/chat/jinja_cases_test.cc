// Jinja2 semantics: every case of tests/fixtures/chat/jinja_cases.jsonl was rendered by jinja2
// 3.1.6 configured as HF transformers configures it (gen_jinja_cases.py); our interpreter must
// produce the same text, or fail where jinja2 failed.
#include <gtest/gtest.h>

#include <fstream>

#include "chat_test_util.h"

namespace dv::chat {
namespace {

using testing::Json;

TEST(ChatJinjaCases, EveryCaseMatchesJinja2) {
  std::ifstream in(dv::testing::FixturePath("chat/jinja_cases.jsonl"));
  ASSERT_TRUE(in.good());
  std::string line;
  int rendered = 0, failed = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Json c = Json::parse(line);
    const std::string name = c["name"].get<std::string>();
    const auto out = testing::RenderWith(c["template"].get<std::string>(), c["vars"]);
    if (c.contains("error")) {
      EXPECT_FALSE(out.ok()) << name << ": jinja2 raised " << c["error"] << " but we rendered [" << out.value() << "]";
      ++failed;
    } else {
      ASSERT_TRUE(out.ok()) << name << ": " << out.status().ToString();
      EXPECT_EQ(*out, c["rendered"].get<std::string>()) << name;
      ++rendered;
    }
  }
  EXPECT_GE(rendered, 120);
  EXPECT_GE(failed, 20);
}

}  // namespace
}  // namespace dv::chat
