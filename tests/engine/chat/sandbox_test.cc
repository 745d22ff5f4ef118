// Hostile templates and hostile input: every one must end in a clear Status, quickly, without a
// crash, a hang or unbounded memory.
#include <gtest/gtest.h>

#include "chat_test_util.h"

namespace dv::chat {
namespace {

using testing::Json;
using testing::RenderWith;

// Renders and requires failure with `code`; returns the message. (A hang would show as the test
// timing out; the bounds below are set low so each case fails fast even under sanitizers.)
std::string ExpectFailure(const std::string& source, StatusCode code, const Json& vars = Json::object(),
                          const RenderLimits& limits = {}) {
  const auto out = RenderWith(source, vars, limits);
  EXPECT_FALSE(out.ok()) << source;
  if (out.ok()) return "";
  EXPECT_EQ(out.status().code(), code) << source << " → " << out.status().ToString();
  return out.status().Describe();
}

RenderLimits Small() {
  RenderLimits limits;
  limits.max_loop_iterations = 100000;
  limits.max_output_bytes = 4u << 20;
  limits.max_work_bytes = 64u << 20;
  return limits;
}

TEST(ChatSandbox, InfiniteMacroRecursionIsStopped) {
  const std::string msg = ExpectFailure("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", StatusCode::kResourceExhausted);
  EXPECT_NE(msg.find("macro calls nested deeper"), std::string::npos) << msg;
}

TEST(ChatSandbox, MutualRecursionThroughCallerIsStopped) {
  ExpectFailure("{% macro a() %}{% call a() %}x{% endcall %}{% endmacro %}{{ a() }}", StatusCode::kResourceExhausted);
}

TEST(ChatSandbox, HugeRangeIsRefusedBeforeAllocating) {
  const std::string msg = ExpectFailure("{% for i in range(10**12) %}{% endfor %}", StatusCode::kResourceExhausted);
  EXPECT_NE(msg.find("range()"), std::string::npos) << msg;
}

TEST(ChatSandbox, NestedLoopsHitTheIterationBound) {
  const std::string msg = ExpectFailure("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
                                        StatusCode::kResourceExhausted, {}, Small());
  EXPECT_NE(msg.find("loop iterations"), std::string::npos) << msg;
}

TEST(ChatSandbox, OutputExplosionHitsTheOutputBound) {
  RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  const std::string msg = ExpectFailure("{% set s = 'x' * 100000 %}{% for i in range(1000) %}{{ s }}{% endfor %}",
                                        StatusCode::kResourceExhausted, {}, limits);
  EXPECT_NE(msg.find("exceeds the limit"), std::string::npos) << msg;
}

TEST(ChatSandbox, StringDoublingHitsTheSizeBound) {
  ExpectFailure("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                StatusCode::kResourceExhausted, {}, Small());
  ExpectFailure("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                StatusCode::kResourceExhausted, {}, Small());
}

TEST(ChatSandbox, ListDoublingHitsTheIterationBound) {
  ExpectFailure("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                StatusCode::kResourceExhausted, {}, Small());
  ExpectFailure("{{ ([1] * 10**12)|length }}", StatusCode::kResourceExhausted);
}

TEST(ChatSandbox, StringRepetitionAndReplaceAreSizedBeforeBuilding) {
  ExpectFailure("{{ 'x' * 10**12 }}", StatusCode::kResourceExhausted);
  ExpectFailure("{{ 'ab' * 4611686018427387904 }}", StatusCode::kResourceExhausted);
  ExpectFailure("{{ ('x' * 1000000)|replace('', 'y' * 100) }}", StatusCode::kResourceExhausted);
  ExpectFailure("{{ ('x' * 1000000).replace('x', 'y' * 100) }}", StatusCode::kResourceExhausted);
}

TEST(ChatSandbox, TotalWorkIsBounded) {
  // Each iteration builds a 1 MB string: fine alone, bounded in total.
  const std::string msg = ExpectFailure(
      "{% set s = 'x' * 1000000 %}{% for i in range(1000) %}{% set t = s ~ i %}{% endfor %}",
      StatusCode::kResourceExhausted, {}, Small());
  EXPECT_NE(msg.find("bytes of text"), std::string::npos) << msg;
}

TEST(ChatSandbox, StepBoundStopsLongComputations) {
  RenderLimits limits;
  limits.max_steps = 10000;
  const std::string msg = ExpectFailure("{% for i in range(100000) %}{{ i }}{% endfor %}", StatusCode::kResourceExhausted, {}, limits);
  EXPECT_NE(msg.find("steps"), std::string::npos) << msg;
}

TEST(ChatSandbox, DeepNestingInTheSourceIsRefusedByTheParser) {
  const std::string parens = std::string(100000, '(') + "1" + std::string(100000, ')');
  ExpectFailure("{{ " + parens + " }}", StatusCode::kResourceExhausted);
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
  for (int i = 0; i < 5000; ++i) ifs += "{% endif %}";
  ExpectFailure(ifs, StatusCode::kResourceExhausted);
  ExpectFailure("{{ " + std::string(50000, '[') + std::string(50000, ']') + " }}", StatusCode::kResourceExhausted);
  ExpectFailure("{{ " + std::string(50000, '-') + "1 }}", StatusCode::kResourceExhausted);
  std::string nots = "{{ ";
  for (int i = 0; i < 50000; ++i) nots += "not ";
  ExpectFailure(nots + "x }}", StatusCode::kResourceExhausted);
}

TEST(ChatSandbox, LongFlatExpressionsAreFine) {
  // Width is not depth: a long chain of + is iterative in the parser, bounded by eval depth.
  std::string sum = "{{ 0";
  for (int i = 0; i < 200; ++i) sum += " + 1";
  auto out = RenderWith(sum + " }}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "200");
}

TEST(ChatSandbox, IntegerOverflowIsAnError) {
  ExpectFailure("{{ 10 ** 19 }}", StatusCode::kInvalidArgument);
  ExpectFailure("{{ 3 ** 100 }}", StatusCode::kInvalidArgument);
  ExpectFailure("{{ 9223372036854775807 + 1 }}", StatusCode::kInvalidArgument);
  ExpectFailure("{{ 99999999999999999999 }}", StatusCode::kInvalidArgument);
}

TEST(ChatSandbox, NoWayOutOfTheSandbox) {
  // Python internals and file/environment access simply do not exist here.
  for (const char* probe : {"{{ ''.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ range.__globals__ }}",
                            "{{ self }}", "{{ config }}", "{{ request }}", "{{ os }}", "{{ lipsum }}",
                            "{{ namespace.__init__ }}", "{{ messages.__len__ }}"}) {
    const auto out = RenderWith(probe);
    if (out.ok()) {
      EXPECT_EQ(*out, "") << probe;
    }
  }
  ExpectFailure("{% include '/etc/passwd' %}", StatusCode::kInvalidArgument);
  ExpectFailure("{% import 'x' as y %}", StatusCode::kInvalidArgument);
  ExpectFailure("{% extends 'base' %}", StatusCode::kInvalidArgument);
  ExpectFailure("{{ ''.__class__.__mro__[1].__subclasses__() }}", StatusCode::kInvalidArgument);
}

TEST(ChatSandbox, MutatingMethodsAreRefusedAsInHf) {
  const std::string msg = ExpectFailure("{% set l = [] %}{% set _ = l.append(1) %}", StatusCode::kInvalidArgument);
  EXPECT_NE(msg.find("access to attribute 'append' of 'list' object is unsafe"), std::string::npos) << msg;
}

TEST(ChatSandbox, RaiseExceptionCarriesTheTemplatesMessage) {
  auto t = ChatTemplate::Compile("{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}");
  ASSERT_TRUE(t.ok());
  ChatTemplateInput input;
  input.messages = Json::parse(R"([{"role": "assistant", "content": "x"}])");
  const auto out = t->Render(input);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "Conversation roles must alternate user/assistant/user/assistant/...");
}

TEST(ChatSandbox, RuntimeErrorsNameTheLine) {
  const auto out = RenderWith("line one\n{% set x = 1 %}\n{{ 'a' + 1 }}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("line 3"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("can only concatenate str"), std::string::npos) << out.status().message();
}

TEST(ChatSandbox, SyntaxErrorsNameTheLine) {
  const auto t = ChatTemplate::Compile("ok\n\n{% if %}");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("line 3"), std::string::npos) << t.status().message();
}

TEST(ChatSandbox, HostileInputIsValidatedAtTheBoundary) {
  auto t = ChatTemplate::Compile("{{ messages|length }}");
  ASSERT_TRUE(t.ok());
  ChatTemplateInput input;
  input.messages = Json::array({Json{{"role", "user"}, {"content", std::string("bad \xC3\x28 utf8")}}});
  auto out = t->Render(input);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("UTF-8"), std::string::npos);

  Json deep = "leaf";
  for (int i = 0; i < 1000; ++i) deep = Json::array({deep});
  input.messages = Json::array({Json{{"role", "user"}, {"content", deep}}});
  out = t->Render(input);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("nested"), std::string::npos);

  input.messages = Json::object();
  EXPECT_FALSE(t->Render(input).ok());
  input.messages = Json::array({"not an object"});
  EXPECT_FALSE(t->Render(input).ok());
  input.messages = Json::array();
  input.kwargs = Json{{"messages", 1}};
  EXPECT_FALSE(t->Render(input).ok());

  EXPECT_FALSE(ChatTemplate::Compile(std::string("\xFF\xFE")).ok());
}

TEST(ChatSandbox, GarbageTemplatesNeverCrash) {
  // Truncations of a real template at every position: each compiles or fails cleanly, and each
  // that compiles renders or fails cleanly.
  const std::string source = "{%- for m in messages %}{{ '<' + m.role + '>' }}{% if m.content is string %}{{ m.content|trim }}"
                             "{% else %}{{ m.content|map(attribute='text')|join(' ') }}{% endif %}{#c#}{% endfor %}"
                             "{% raw %}{{x}}{% endraw %}{{ {'a': [1, 2.5, none]}|tojson(indent=2) }}";
  ChatTemplateInput input;
  input.messages = Json::parse(R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"text": "a"}]}])");
  int compiled = 0;
  for (size_t n = 0; n <= source.size(); ++n) {
    auto t = ChatTemplate::Compile(source.substr(0, n));
    if (!t.ok()) continue;
    ++compiled;
    (void)t->Render(input);
  }
  EXPECT_GT(compiled, 5);
}

}  // namespace
}  // namespace dv::chat
