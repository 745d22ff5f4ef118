// Renders every conversation of tests/fixtures/hf-reference/chat_templates.jsonl (produced by HF
// transformers' render_jinja_template, jinja2 3.1.6) with our interpreter and requires the exact
// same text, or a failure where HF failed.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "chat_test_util.h"

namespace dv::chat {
namespace {

using testing::Json;

struct Case {
  Json record;
  int line;
};

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::ifstream in(dv::testing::FixturePath("hf-reference/chat_templates.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty()) cases.push_back({Json::parse(line), n});
  }
  return cases;
}

TEST(ChatHfReference, EveryRenderingMatchesTransformers) {
  const std::vector<Case> cases = LoadCases();
  ASSERT_GE(cases.size(), 170u) << "reference file missing or truncated";
  std::map<std::string, ChatTemplate> templates;
  int rendered = 0, errors = 0;
  for (const Case& c : cases) {
    const Json& r = c.record;
    const std::string name = r["template"].get<std::string>();
    if (!templates.count(name)) {
      auto t = ChatTemplate::FromTokenizerConfig(testing::TokenizerConfigText(name));
      ASSERT_TRUE(t.ok()) << name << ": " << t.status().ToString();
      templates.emplace(name, std::move(t).value());
    }
    const ChatTemplate& tmpl = templates.at(name);
    // Our special-token extraction must give what the generator passed (it leaves out
    // additional_special_tokens, which none of these templates reads).
    Json ours = tmpl.special_tokens();
    ours.erase("additional_special_tokens");
    EXPECT_EQ(ours.dump(), r["special_tokens"].dump()) << name;

    ChatTemplateInput input;
    input.messages = r["messages"];
    input.tools = r["tools"];
    input.add_generation_prompt = r["add_generation_prompt"].get<bool>();
    input.kwargs = r["kwargs"];
    const auto out = tmpl.Render(input);
    const std::string where = name + " / " + r["case"].get<std::string>() +
                              (input.add_generation_prompt ? " (generation prompt)" : "") + " line " +
                              std::to_string(c.line);
    if (r.contains("error")) {
      EXPECT_FALSE(out.ok()) << where << ": HF raised " << r["error"] << " but we rendered:\n" << out.value();
      ++errors;
      continue;
    }
    ASSERT_TRUE(out.ok()) << where << ": " << out.status().ToString();
    EXPECT_EQ(*out, r["rendered"].get<std::string>()) << where;
    ++rendered;
  }
  EXPECT_GT(rendered, 160);
  EXPECT_GE(errors, 1);
}

}  // namespace
}  // namespace dv::chat
