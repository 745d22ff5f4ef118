// Constrained decoding cost: JsonMatcher::AllowedTokens (the per-step token mask) over a real
// vocabulary in typical states; medians of 9 runs. Usage: bench_grammar_mask path/to/tokenizer.json
#include <algorithm>
#include <chrono>
#include <cstdio>
#include "engine/grammar/json_matcher.h"
#include "engine/tokenizer/loader.h"
#include "engine/tokenizer/tokenizer.h"
using namespace dv;
int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_grammar_mask path/to/tokenizer.json\n");
    return 2;
  }
  auto tok = tok::LoadTokenizer(argv[1]);
  if (!tok.ok()) { printf("%s\n", tok.status().Describe().c_str()); return 1; }
  std::vector<grammar::TokenTrie::Token> tokens;
  for (size_t i = 0; i < (*tok)->vocab_size(); ++i)
    tokens.push_back({(int32_t)i, std::string((*tok)->TokenBytes((int32_t)i)), (*tok)->IsSpecial((int32_t)i)});
  auto t0 = std::chrono::steady_clock::now();
  grammar::TokenTrie trie(tokens, (int32_t)tokens.size());
  double build = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  printf("vocab %zu, trie build %.1f ms\n", tokens.size(), build);
  auto schema = grammar::JsonSchema::Compile(nlohmann::json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age"],"additionalProperties":false})")).value();
  auto limited = grammar::JsonSchema::Compile(nlohmann::json::parse(R"({"type":"object","properties":{"name":{"type":"string","maxLength":8}}})")).value();
  struct S { const char* label; std::shared_ptr<const grammar::JsonSchema> s; const char* prefix; };
  S states[] = {{"json_object, start", grammar::JsonSchema::AnyObject(), ""},
                {"json_object, inside a string value", grammar::JsonSchema::AnyObject(), "{\"story\": \"Once upon a time"},
                {"json_object, string, partial UTF-8", grammar::JsonSchema::AnyObject(), "{\"story\": \"\xe4\xb8\xad\xe6"},
                {"json_object, string, after a backslash", grammar::JsonSchema::AnyObject(), "{\"story\": \"line\\"},
                {"json_object, inside a key", grammar::JsonSchema::AnyObject(), "{\"sto"},
                {"schema, string with maxLength 8", limited, "{\"name\": \"Lil"},
                {"schema, inside a key", schema, "{\"na"},
                {"schema, after a value", schema, "{\"name\": \"Lily\""},
                {"schema, inside an integer", schema, "{\"name\": \"Lily\", \"age\": 1"}};
  for (auto& st : states) {
    grammar::JsonMatcher m(st.s);
    if (!m.Accept(st.prefix)) { printf("bad prefix\n"); return 1; }
    std::vector<uint8_t> allowed;
    std::vector<double> ms;
    for (int r = 0; r < 9; ++r) {
      auto a = std::chrono::steady_clock::now();
      m.AllowedTokens(trie, &allowed);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(ms.begin(), ms.end());
    printf("%-40s median %7.2f ms, allowed %zu\n", st.label, ms[4], (size_t)std::count(allowed.begin(), allowed.end(), 1));
  }
}
