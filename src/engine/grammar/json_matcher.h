// Constrained decoding: a byte-level pushdown automaton over JSON text that follows a compiled
// JsonSchema, optionally between two literal texts (a tool-call wrapper such as "<tool_call>\n"
// … "\n</tool_call>"), and the per-step token mask derived from it.
//
//   JsonMatcher m(schema, {.prefix = "", .suffix = ""});
//   TokenTrie trie(tokens);                 // once per vocabulary
//   m.AllowedTokens(trie, &allowed);        // before sampling: allowed[id] != 0
//   m.Accept(bytes_of_sampled_token, is_control);
//   m.IsComplete();                          // the end-of-generation token may be sampled
//
// JsonMatcher({{schema_a, {prefix_a, suffix_a}}, {schema_b, {prefix_b, suffix_b}}}) accepts any one
// of several such documents (a DeepSeek tool call of one of several tools).
//
// The state is a set of alternative parse stacks (anyOf, enum values and number/integer overlap
// are explored in parallel; at most kMaxAlternatives). Whitespace between JSON tokens is
// allowed up to kMaxWhitespaceRun bytes in a row and numbers up to kMaxNumberLength characters,
// so the model cannot loop forever inside the grammar. Strings must be valid UTF-8 without raw
// control characters. Control tokens (the tokenizer's special tokens) are accepted only inside
// the prefix/suffix literals.
//
// Thread safety: a JsonMatcher belongs to one sequence; TokenTrie is immutable after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/grammar/json_schema.h"

namespace dv::grammar {

inline constexpr int kMaxAlternatives = 64;
inline constexpr int kMaxWhitespaceRun = 24;
inline constexpr int kMaxNumberLength = 32;
inline constexpr int kMaxNesting = 64;  // objects/arrays open at once

// Every token of a vocabulary by its bytes, as tries for pruned mask computation, plus the
// precomputed set of "plain string content" tokens: complete UTF-8 code points without '"', '\\'
// or control bytes. Inside a free-text JSON string (no limit but maxLength) every plain token is
// valid, so the mask there is that set (cut by code-point count) plus a walk over the much smaller
// trie of the other tokens, instead of a walk over the whole vocabulary.
class TokenTrie {
 public:
  struct Token {
    int32_t id = 0;
    std::string bytes;
    bool control = false;  // special token: only literal wrapper text may contain it
  };
  // Tokens with empty bytes are never allowed (the caller treats end-of-generation separately).
  explicit TokenTrie(std::vector<Token> tokens, int32_t n_vocab);

  int32_t n_vocab() const { return n_vocab_; }
  size_t plain_string_tokens() const { return plain_.size(); }

 private:
  friend class JsonMatcher;
  struct Node {
    uint32_t first_child = 0;   // 0: none (the root is node 0 and never a child)
    uint32_t next_sibling = 0;
    uint32_t first_token = 0;   // tokens ending here: ids[first_token, end_token)
    uint32_t end_token = 0;
    uint8_t byte = 0;
  };
  struct Trie {
    std::vector<Node> nodes;
    std::vector<int32_t> ids;
    size_t max_depth = 0;
  };
  // A plain-string-content token: its code points, and its first bytes (escape/hex completion).
  struct PlainToken {
    int32_t id = 0;
    uint32_t code_points = 0;
    uint8_t head_len = 0;  // min(bytes, 5)
    uint8_t head[5] = {};
  };
  static Trie Build(std::vector<const Token*> tokens);

  Trie all_;                        // every non-control token
  Trie special_;                    // the non-control tokens that are not plain string content
  std::vector<PlainToken> plain_;   // sorted by code_points
  // Indices into plain_ grouped by first byte: by_first_[first_offset_[b], first_offset_[b + 1]).
  std::vector<uint32_t> by_first_;
  std::vector<uint32_t> first_offset_;  // [257]
  std::vector<uint8_t> plain_mask_; // [n_vocab]: 1 for the ids in plain_
  uint32_t max_plain_code_points_ = 0;
  std::vector<Token> control_;      // checked one by one (few, and allowed only in literals)
  int32_t n_vocab_ = 0;
};

struct MatcherOptions {
  std::string prefix;  // literal text before the JSON value
  std::string suffix;  // and after it
};

// One document form: literal prefix, a JSON value of `schema`, literal suffix.
struct MatcherBranch {
  std::shared_ptr<const JsonSchema> schema;
  MatcherOptions wrapper;
};

class JsonMatcher {
 public:
  JsonMatcher(std::shared_ptr<const JsonSchema> schema, MatcherOptions options = {});
  // The output is any one of `branches`, explored in parallel (e.g. a DeepSeek tool call of one of
  // several tools: the name is in the prefix, the arguments follow that tool's schema).
  // REQUIRES: 1 <= branches.size() <= kMaxAlternatives, every schema non-null.
  explicit JsonMatcher(std::vector<MatcherBranch> branches);

  // Advances over `bytes`; false (and the state unchanged) if they cannot extend a valid prefix.
  bool Accept(std::string_view bytes, bool control = false);
  // The text so far is a complete document.
  bool IsComplete() const;
  // Some byte can still follow.
  bool CanContinue() const;
  // The shortest text found that completes the document from here ("" when it is complete), or
  // nullopt. Generation uses it to close the JSON when the token budget is about to run out.
  std::optional<std::string> ClosingText() const;
  // allowed[id] = 1 for every token of `trie` whose bytes extend a valid prefix, else 0.
  // Resizes `allowed` to trie.n_vocab(). End-of-generation tokens are the caller's (IsComplete).
  void AllowedTokens(const TokenTrie& trie, std::vector<uint8_t>* allowed) const;

  // One open construct of a parse stack. Fields are interpreted per kind.
  enum class Kind : uint8_t { kValue, kObject, kKey, kArray, kString, kNumber, kLiteral };
  struct Frame {
    Kind kind = Kind::kValue;
    uint8_t phase = 0;
    uint8_t utf8 = 0;    // string/key: UTF-8 continuation bytes still due
    uint8_t hex = 0;     // string/key: \u hex digits still due
    uint8_t ws = 0;      // whitespace run before the next JSON token
    bool flag = false;   // number: integer only; literal: control tokens allowed
    uint32_t count = 0;  // string: code points; key: bytes; array: items; number: chars; literal: bytes matched
    const SchemaNode* node = nullptr;
    const std::string* lit = nullptr;
    uint64_t mask = 0;   // object: properties seen; key: candidate properties not yet seen
    uint64_t mask2 = 0;  // key: candidate properties among all declared ones
    int32_t prop = -1;   // object: the property whose value comes next (-1: an additional one)
    bool operator==(const Frame&) const = default;
  };
  using Stack = std::vector<Frame>;

 private:
  void Walk(const TokenTrie::Trie& trie, uint32_t node, size_t depth, std::vector<std::vector<Stack>>& scratch,
            std::vector<uint8_t>& allowed) const;
  // Every alternative is inside a string whose content is free (a string value, or a key of an
  // object that allows additional properties): plain tokens are decided without simulation.
  bool InsideFreeStrings() const;
  // allowed[id] = 1 for the plain-string-content tokens some alternative accepts.
  void AddPlainStringTokens(const TokenTrie& trie, std::vector<uint8_t>& allowed) const;

  // Schemas and wrapper texts: frames point into them, so they are shared and never change.
  std::shared_ptr<const std::vector<MatcherBranch>> branches_;
  std::vector<Stack> alts_;
};

}  // namespace dv::grammar
