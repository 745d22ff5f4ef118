// The JSON grammar state machine (engine/grammar) on valid and invalid prefixes, schema
// compilation errors, and token masks over a small hand-made vocabulary. Valid documents are
// checked against nlohmann::json's parser (a reference nobody here wrote).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "engine/grammar/json_matcher.h"
#include "engine/grammar/json_schema.h"
#include "engine/tokenizer/loader.h"
#include "engine/tokenizer/tokenizer.h"
#include "test_util.h"

namespace dv::grammar {
namespace {

using Json = nlohmann::json;

std::shared_ptr<const JsonSchema> Schema(const char* text) {
  auto s = JsonSchema::Compile(Json::parse(text));
  EXPECT_TRUE(s.ok()) << s.status().Describe();
  return s.ok() ? *s : JsonSchema::AnyObject();
}

// Feeds `text` byte by byte; returns how many bytes were accepted.
size_t AcceptedPrefix(JsonMatcher& m, std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!m.Accept(text.substr(i, 1))) return i;
  }
  return text.size();
}

bool Complete(const std::shared_ptr<const JsonSchema>& s, std::string_view text) {
  JsonMatcher m(s);
  return AcceptedPrefix(m, text) == text.size() && m.IsComplete();
}

TEST(ServerGrammar, AnyObjectAcceptsJsonObjectsOnly) {
  auto any = JsonSchema::AnyObject();
  for (const char* doc : {R"({})", R"({"a": [1, -2.5e+3, true, false, null, "x\u00e9\n"], "b": {"c": {}}})",
                          "{\n  \"k\" : \"\xe4\xb8\xad\xe6\x96\x87\"\n}", R"({"a":0.5,"b":[],"c":[[]]})"}) {
    EXPECT_TRUE(Complete(any, doc)) << doc;
    EXPECT_TRUE(Json::accept(doc)) << doc;
  }
  struct Bad {
    const char* text;
    size_t accepted;  // bytes before the first rejected one
  };
  for (const Bad& b : {Bad{"[1]", 0}, Bad{"\"x\"", 0}, Bad{"{,", 1}, Bad{"{\"a\" 1", 5}, Bad{"{\"a\":01", 6},
                       Bad{"{\"a\":1.}", 7}, Bad{"{\"a\":tru}", 8}, Bad{"{\"a\":\"\x01", 6}, Bad{"{\"a\":\"\\q", 7},
                       Bad{"{\"a\":\"\xc3(", 7}, Bad{"{\"a\":[1,]", 8}, Bad{"{}x", 2}, Bad{"{\"a\":1,}", 7}}) {
    JsonMatcher m(any);
    EXPECT_EQ(AcceptedPrefix(m, b.text), b.accepted) << b.text;
  }
  JsonMatcher partial(any);
  ASSERT_EQ(AcceptedPrefix(partial, R"({"a": [1, 2)"), 11u);
  EXPECT_FALSE(partial.IsComplete());
  EXPECT_TRUE(partial.CanContinue());
  JsonMatcher done(any);
  ASSERT_EQ(AcceptedPrefix(done, "{}"), 2u);
  EXPECT_TRUE(done.IsComplete());
  EXPECT_FALSE(done.CanContinue());
}

TEST(ServerGrammar, RejectedBytesLeaveTheStateUnchanged) {
  JsonMatcher m(JsonSchema::AnyObject());
  ASSERT_TRUE(m.Accept("{\"a\":"));
  EXPECT_FALSE(m.Accept("1x"));
  EXPECT_TRUE(m.Accept("12}"));
  EXPECT_TRUE(m.IsComplete());
}

TEST(ServerGrammar, SchemaRequiredEnumAndAdditionalProperties) {
  auto s = Schema(R"({"type":"object","properties":{"color":{"enum":["red","green"]},"n":{"type":"integer"},
                      "tags":{"type":"array","items":{"type":"string","maxLength":3},"minItems":1,"maxItems":2}},
                      "required":["color","n"],"additionalProperties":false})");
  EXPECT_TRUE(Complete(s, R"({"color":"red","n":-12})"));
  EXPECT_TRUE(Complete(s, R"({ "n": 0, "color": "green", "tags": ["abc", "é"] })"));
  EXPECT_FALSE(Complete(s, R"({"color":"blue","n":1})"));   // not in the enum
  EXPECT_FALSE(Complete(s, R"({"color":"red"})"));           // n is required
  EXPECT_FALSE(Complete(s, R"({"color":"red","n":1.5})"));   // integer
  EXPECT_FALSE(Complete(s, R"({"color":"red","n":1,"x":1})"));  // no additional properties
  EXPECT_FALSE(Complete(s, R"({"color":"red","n":1,"n":2})"));  // duplicate key
  EXPECT_FALSE(Complete(s, R"({"color":"red","n":1,"tags":[]})"));  // minItems
  EXPECT_FALSE(Complete(s, R"({"color":"red","n":1,"tags":["a","b","c"]})"));  // maxItems
  EXPECT_FALSE(Complete(s, R"({"color":"red","n":1,"tags":["abcd"]})"));  // maxLength
  // The closing brace is refused while a required key is missing; a comma is refused once every
  // declared property is present and no others are allowed.
  JsonMatcher m(s);
  ASSERT_TRUE(m.Accept(R"({"color":"red")"));
  EXPECT_FALSE(m.Accept("}"));
  JsonMatcher full(s);
  ASSERT_TRUE(full.Accept(R"({"color":"red","n":1,"tags":["a"])"));
  EXPECT_FALSE(full.Accept(","));
  EXPECT_TRUE(full.Accept("}"));
}

TEST(ServerGrammar, AnyOfConstNullableAndTopLevelNumbers) {
  auto s = Schema(R"({"anyOf":[{"type":"null"},{"type":"object","properties":{"k":{"const":"v"}},"required":["k"]}]})");
  EXPECT_TRUE(Complete(s, "null"));
  EXPECT_TRUE(Complete(s, R"({"k":"v"})"));
  EXPECT_TRUE(Complete(s, R"({"k":"v","other":[1]})"));  // additionalProperties absent: any value
  EXPECT_FALSE(Complete(s, R"({"k":"w"})"));
  auto n = Schema(R"({"type":["number","string"]})");
  JsonMatcher m(n);
  ASSERT_TRUE(m.Accept("-12.5e3"));
  EXPECT_TRUE(m.IsComplete());   // a number can end here
  EXPECT_TRUE(m.CanContinue());  // or go on
  EXPECT_TRUE(Complete(n, "\"s\""));
  EXPECT_FALSE(Complete(n, "true"));
}

TEST(ServerGrammar, UnsupportedKeywordsAndUnsatisfiableSchemasAreNamed) {
  auto unsupported = JsonSchema::Compile(Json::parse(R"({"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]+$"}}})"));
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.status().message(), "unsupported JSON schema keyword \"pattern\" at $.properties.zip");
  for (const char* schema : {R"({"type":"array","minItems":3,"maxItems":2})",
                             R"({"type":"string","enum":[1,2]})",
                             R"({"type":"object","properties":{"a":false},"required":["a"]})",
                             R"({"anyOf":[{"type":"string","minLength":5,"maxLength":1},false]})",
                             R"({"type":"object","required":["x"],"additionalProperties":false})",
                             "false"}) {
    auto r = JsonSchema::Compile(Json::parse(schema));
    ASSERT_FALSE(r.ok()) << schema;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("cannot be satisfied"), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(JsonSchema::Compile(Json::parse(R"({"$ref":"#/$defs/x"})")).ok());
  EXPECT_FALSE(JsonSchema::Compile(Json::parse(R"({"type":"date"})")).ok());
  EXPECT_TRUE(JsonSchema::Compile(Json::parse(R"({"type":"string","format":"date-time","description":"d"})")).ok());
}

TEST(ServerGrammar, WrapperLiteralsAndControlTokens) {
  auto s = Schema(R"({"type":"object","properties":{"name":{"const":"f"}},"required":["name"]})");
  JsonMatcher m(s, {.prefix = "<tool_call>\n", .suffix = "\n</tool_call>"});
  EXPECT_FALSE(m.Accept("{"));
  ASSERT_TRUE(m.Accept("<tool_call>", /*control=*/true));
  EXPECT_FALSE(m.Accept("{", /*control=*/true));  // control tokens never inside the JSON
  ASSERT_TRUE(m.Accept("\n{\"name\":\"f\"}\n</tool_"));
  EXPECT_FALSE(m.IsComplete());
  ASSERT_TRUE(m.Accept("call>"));
  EXPECT_TRUE(m.IsComplete());
}

TEST(ServerGrammar, ClosingTextCompletesAnyPrefix) {
  auto s = Schema(R"({"type":"object","properties":{"mood":{"enum":["happy","sad"]},"age":{"type":"integer"},
                      "tags":{"type":"array","items":{"type":"string","minLength":2},"minItems":1}},
                      "required":["mood","tags"],"additionalProperties":false})");
  const std::string doc = R"({"age": -12.0e1, "tags": ["ab\u00e9", "\nÃ©x"], "mood": "sad"})";
  // Every prefix the schema accepts (integer: "-12" only, so cut the number) closes to a valid document.
  const std::string valid = R"({"age": -12, "tags": ["ab\u00e9", "\nÃ©x"], "mood": "sad"})";
  for (size_t n = 0; n <= valid.size(); ++n) {
    JsonMatcher m(s);
    ASSERT_TRUE(m.Accept(valid.substr(0, n))) << n;
    auto close = m.ClosingText();
    ASSERT_TRUE(close.has_value()) << valid.substr(0, n);
    const std::string full = valid.substr(0, n) + *close;
    auto parsed = Json::parse(full, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << full;
    EXPECT_TRUE(parsed.contains("mood") && parsed.contains("tags")) << full;
    EXPECT_GE(parsed["tags"].size(), 1u) << full;
  }
  (void)doc;
  JsonMatcher any(JsonSchema::AnyObject());
  ASSERT_TRUE(any.Accept(R"({"a": [1, {"b": "x)"));
  EXPECT_EQ(any.ClosingText(), std::optional<std::string>("\"}]}"));
}

TEST(ServerGrammar, TokenMaskMatchesByteByByteSimulation) {
  // A vocabulary of single bytes and multi-byte pieces, some of which cross JSON tokens.
  std::vector<std::string> pieces = {"{", "}", "\"", ":", ",", " ", "\n", "a", "b", "1", "0", "-", ".", "e",
                                     "{\"", "\":", "\",", "\"}", "ab", "10", "true", "null", "[", "]", "\\", "n",
                                     "\xc3", "\xa9", "\xc3\xa9", " \"", "}\n", "1}", "<x>", "", "t", "r", "u", "l", "f", "s"};
  std::vector<TokenTrie::Token> tokens;
  for (size_t i = 0; i < pieces.size(); ++i) {
    tokens.push_back({static_cast<int32_t>(i), pieces[i], pieces[i] == "<x>"});
  }
  TokenTrie trie(tokens, static_cast<int32_t>(pieces.size()));
  auto any = JsonSchema::AnyObject();
  std::mt19937 rng(7);
  // Random walks: at every step the mask must equal "Accept succeeds on a copy".
  for (int walk = 0; walk < 40; ++walk) {
    JsonMatcher m(any);
    std::string text;
    for (int step = 0; step < 30 && m.CanContinue(); ++step) {
      std::vector<uint8_t> allowed;
      m.AllowedTokens(trie, &allowed);
      std::vector<int32_t> ok;
      for (size_t i = 0; i < pieces.size(); ++i) {
        JsonMatcher probe = m;
        const bool expect = !pieces[i].empty() && pieces[i] != "<x>" && probe.Accept(pieces[i]);
        ASSERT_EQ(allowed[i] != 0, expect) << "piece '" << pieces[i] << "' at walk " << walk << " step " << step;
        if (expect) ok.push_back(static_cast<int32_t>(i));
      }
      ASSERT_FALSE(ok.empty()) << text;
      const std::string& piece = pieces[static_cast<size_t>(ok[rng() % ok.size()])];
      ASSERT_TRUE(m.Accept(piece));
      text += piece;
    }
  }
}

// Compares m.AllowedTokens with "Accept succeeds on a copy" for every token; returns how many
// tokens are allowed.
size_t ExpectMaskEqualsSimulation(const JsonMatcher& m, const TokenTrie& trie, const std::vector<TokenTrie::Token>& tokens,
                                  const std::string& where) {
  std::vector<uint8_t> allowed;
  m.AllowedTokens(trie, &allowed);
  EXPECT_EQ(allowed.size(), static_cast<size_t>(trie.n_vocab()));
  size_t n = 0, mismatches = 0;
  for (const TokenTrie::Token& t : tokens) {
    JsonMatcher probe = m;
    const bool expect = !t.bytes.empty() && probe.Accept(t.bytes, t.control);
    if ((allowed[static_cast<size_t>(t.id)] != 0) != expect && ++mismatches <= 5) {
      ADD_FAILURE() << where << ": token " << t.id << " '" << t.bytes << "' mask " << int(allowed[static_cast<size_t>(t.id)])
                    << ", simulation " << expect;
    }
    n += expect;
  }
  EXPECT_EQ(mismatches, 0u) << where;
  return n;
}

// Prefixes that leave the matcher inside strings in every sub-state: normal content, a pending
// multi-byte UTF-8 sequence, right after a backslash, inside \uXXXX, maxLength nearly used up or
// used up, an object key that may be any text, and a string alternative beside an enum literal.
struct StringState {
  const char* schema;  // nullptr: any JSON object
  const char* prefix;
};
const StringState kStringStates[] = {
    {nullptr, "{\"story\": \"Once upon a time"},
    {nullptr, "{\"story\": \"\xe4\xb8\xad\xe6"},   // 中 then the first byte of 文
    {nullptr, "{\"story\": \"\xf0\x9f"},           // 2 of the 4 bytes of an emoji
    {nullptr, "{\"story\": \"line\\"},             // after a backslash
    {nullptr, "{\"story\": \"x\\u0"},              // 3 hex digits still due
    {nullptr, "{\"story\": \"x\\u00e"},            // 1 hex digit still due
    {nullptr, "{\"ke"},                            // a key: any text
    {nullptr, "{\"k\\"},                           // a key, after a backslash
    {R"({"type":"object","properties":{"name":{"type":"string","maxLength":5}}})", "{\"name\": \"ab"},
    {R"({"type":"object","properties":{"name":{"type":"string","maxLength":5}}})", "{\"name\": \"abcd\\"},
    {R"({"type":"object","properties":{"name":{"type":"string","maxLength":5}}})", "{\"name\": \"abc\\u12"},
    {R"({"type":"object","properties":{"name":{"type":"string","maxLength":5}}})", "{\"name\": \"abcde"},
    {R"({"type":"object","properties":{"name":{"type":"string","maxLength":5}}})", "{\"name\": \"\xc3"},
    {R"({"type":"string","minLength":2,"maxLength":3})", "\"\xe4\xb8\xad"},
    {R"({"type":"array","items":{"anyOf":[{"type":"string","maxLength":3},{"enum":["abcdef"]}]}})", "[\"ab"},
    {R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})", "{\"a\":\"x\\"},
};

TEST(ServerGrammar, TokenMaskInsideStringsMatchesSimulation) {
  // Pieces that stay inside a string, close it, carry partial UTF-8, escapes and their letters,
  // hex digits, control bytes, and structure after a closing quote.
  std::vector<std::string> pieces = {
      "a", "b", "ab", "Once", " upon", "中", "文", "中文", "\xe4", "\xb8", "\xad", "\xe4\xb8", "\xb8\xad", "\xad文",
      "\xe6", "\x96\x87", "\x87!", "\xf0\x9f", "\x98\x80", "\x98", "\x80 ok", "é", "été", "\\", "\\n", "\\u", "\\u00",
      "\\u00e9", "n", "nabc", "t", "r", "/", "/x", "u", "u00", "u00e9z", "u12345", "u1", "uzz", "0", "00", "e", "e9",
      "e9 x", "F", "12", "1234", "12345", "abcdef", "a\"", "\"", "\",", "\":", "\": \"", "\"}", "\"]", "x\"}", "\t",
      "a\n", "\x01", "\"\\", "q", "\\\"", "\\q", "\xc3", "\xa9", "\xc3\xa9", "\xa9x", "ok\xc3", ",", "}", ":", " ", "{",
      "<c>", "abcdefgh", "\xf0\x9f\x98\x80"};
  std::vector<TokenTrie::Token> tokens;
  for (size_t i = 0; i < pieces.size(); ++i) {
    tokens.push_back({static_cast<int32_t>(i), pieces[i], pieces[i] == "<c>"});
  }
  TokenTrie trie(tokens, static_cast<int32_t>(pieces.size()) + 3);  // ids past the pieces: never allowed
  EXPECT_GT(trie.plain_string_tokens(), 20u);
  for (const StringState& st : kStringStates) {
    auto schema = st.schema ? Schema(st.schema) : JsonSchema::AnyObject();
    JsonMatcher m(schema);
    ASSERT_TRUE(m.Accept(st.prefix)) << st.prefix;
    ExpectMaskEqualsSimulation(m, trie, tokens, st.prefix);
  }
  // Random walks through strings under each schema, comparing at every step.
  std::mt19937 rng(11);
  for (const StringState& st : kStringStates) {
    auto schema = st.schema ? Schema(st.schema) : JsonSchema::AnyObject();
    for (int walk = 0; walk < 10; ++walk) {
      JsonMatcher m(schema);
      ASSERT_TRUE(m.Accept(st.prefix));
      for (int step = 0; step < 25 && m.CanContinue(); ++step) {
        std::vector<uint8_t> allowed;
        m.AllowedTokens(trie, &allowed);
        ExpectMaskEqualsSimulation(m, trie, tokens, std::string(st.prefix) + " walk " + std::to_string(walk));
        std::vector<size_t> ok;
        for (size_t i = 0; i < pieces.size(); ++i) {
          if (allowed[i]) ok.push_back(i);
        }
        if (ok.empty()) break;
        ASSERT_TRUE(m.Accept(pieces[ok[rng() % ok.size()]], false));
      }
    }
  }
}

TEST(ServerGrammar, RealVocabularyMasksInsideStringsMatchSimulation) {
  // The Qwen3 and DeepSeek-V3 vocabularies (≈150k and ≈129k tokens, byte-level BPE with many
  // partial UTF-8 pieces): the precomputed plain-content set plus the walk must decide every token
  // exactly as feeding its bytes would.
  for (const char* name : {"qwen3", "deepseek-v3"}) {
    const auto path = dv::testing::SharedPath(std::string("fixtures/tokenizers/") + name + "/tokenizer.json");
    if (path.empty()) GTEST_SKIP() << "../shared/fixtures/tokenizers is absent";
    auto tok = tok::LoadTokenizer(path);
    ASSERT_TRUE(tok.ok()) << tok.status().Describe();
    std::vector<TokenTrie::Token> tokens;
    for (size_t i = 0; i < (*tok)->vocab_size(); ++i) {
      const auto id = static_cast<int32_t>(i);
      tokens.push_back({id, std::string((*tok)->TokenBytes(id)), (*tok)->IsSpecial(id)});
    }
    TokenTrie trie(tokens, static_cast<int32_t>(tokens.size()));
    EXPECT_GT(trie.plain_string_tokens(), tokens.size() * 9 / 10) << name;
    for (const StringState& st : kStringStates) {
      auto schema = st.schema ? Schema(st.schema) : JsonSchema::AnyObject();
      JsonMatcher m(schema);
      ASSERT_TRUE(m.Accept(st.prefix)) << st.prefix;
      const size_t n = ExpectMaskEqualsSimulation(m, trie, tokens, std::string(name) + " " + st.prefix);
      EXPECT_GT(n, 0u) << name << " " << st.prefix;
    }
  }
}

TEST(ServerGrammar, BranchesChooseOneWrapperAndItsSchema) {
  // DeepSeek-style calls: the tool name is in the literal prefix, the JSON is that tool's
  // arguments. Each branch only admits its own schema once its prefix is chosen.
  const std::string begin = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>";
  const std::string end = "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
  auto weather = Schema(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false})");
  auto add = Schema(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]})");
  auto add2 = Schema(R"({"type":"object","properties":{"x":{"const":1}},"required":["x"]})");
  std::vector<MatcherBranch> branches = {{weather, {begin + "get_weather\n```json\n", end}},
                                         {add, {begin + "add\n```json\n", end}},
                                         {add2, {begin + "add2\n```json\n", end}}};  // "add" is a prefix of "add2"
  auto complete = [&](const std::string& text) {
    JsonMatcher m(branches);
    return AcceptedPrefix(m, text) == text.size() && m.IsComplete();
  };
  EXPECT_TRUE(complete(begin + "get_weather\n```json\n{\"city\": \"杭州\"}" + end));
  EXPECT_TRUE(complete(begin + "add\n```json\n{\"a\": 1, \"b\": -2}" + end));
  EXPECT_TRUE(complete(begin + "add2\n```json\n{\"x\":1}" + end));
  EXPECT_FALSE(complete(begin + "add\n```json\n{\"city\": \"x\"}" + end));       // weather's arguments
  EXPECT_FALSE(complete(begin + "get_weather\n```json\n{\"a\": 1, \"b\": 2}" + end));
  EXPECT_FALSE(complete(begin + "add2\n```json\n{\"a\": 1, \"b\": 2}" + end));  // add's arguments
  EXPECT_FALSE(complete(begin + "get_time\n```json\n{}" + end));                 // not offered
  EXPECT_FALSE(complete(begin + "add\n```json\n{\"a\": 1, \"b\": 2}"));          // no closing markers
  JsonMatcher m(branches);
  ASSERT_TRUE(m.Accept(begin + "a"));
  auto close = m.ClosingText();
  ASSERT_TRUE(close.has_value());
  EXPECT_TRUE(complete(begin + "a" + *close)) << *close;
  // The mask equals simulation on a vocabulary where the markers are control tokens or bytes.
  std::vector<std::string> pieces = {"<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>",
                                     "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>", "function", "get_weather", "add",
                                     "2", "\n```json\n", "\n```", "{\"", "city", "\": \"", "\"}", "a", "b", "\":", "1",
                                     ",", "-", "}", "x", "get", "_", "weather", "\n", "```", "json", " ", "d", "dd",
                                     "\"", ", \"", ":"};
  std::vector<TokenTrie::Token> tokens;
  for (size_t i = 0; i < pieces.size(); ++i) {
    tokens.push_back({static_cast<int32_t>(i), pieces[i], i < 5});
  }
  TokenTrie trie(tokens, static_cast<int32_t>(pieces.size()));
  std::mt19937 rng(5);
  int completed = 0;
  for (int walk = 0; walk < 30; ++walk) {
    JsonMatcher w(branches);
    std::string text;
    for (int step = 0; step < 40 && w.CanContinue(); ++step) {
      ExpectMaskEqualsSimulation(w, trie, tokens, text);
      std::vector<uint8_t> allowed;
      w.AllowedTokens(trie, &allowed);
      std::vector<size_t> ok;
      for (size_t i = 0; i < pieces.size(); ++i) {
        if (allowed[i]) ok.push_back(i);
      }
      if (ok.empty()) break;  // this small vocabulary cannot spell every continuation
      const size_t pick = ok[rng() % ok.size()];
      ASSERT_TRUE(w.Accept(pieces[pick], pick < 5));
      text += pieces[pick];
    }
    if (w.IsComplete()) {
      ++completed;
      auto calls_end = text.rfind("\n```");
      auto json_start = text.find("```json\n");
      ASSERT_NE(json_start, std::string::npos) << text;
      EXPECT_TRUE(Json::parse(text.substr(json_start + 8, calls_end - json_start - 8), nullptr, false).is_object()) << text;
    }
  }
  EXPECT_GE(completed, 3);
}

}  // namespace
}  // namespace dv::grammar
