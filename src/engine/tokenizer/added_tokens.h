// Finds added tokens (HF "added_tokens", GGUF control/user-defined tokens) in raw input text.
// Matching is leftmost-longest over a byte trie, like HF's Aho-Corasick LeftmostLongest.
//
// Thread safety: immutable after Build; FindNext may be called concurrently.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/spec.h"

namespace dv::tok {

class AddedTokenMatcher {
 public:
  struct Match {
    size_t begin = 0, end = 0;  // byte range consumed, including whitespace absorbed by lstrip/rstrip
    TokenId id = -1;
  };

  // Indexes `tokens` (skipping special ones unless `include_special`). Empty contents are skipped.
  void Build(const std::vector<AddedToken>& tokens, bool include_special);

  // First match starting at or after `from`; false when none. lstrip never reaches before `from`.
  bool FindNext(std::string_view text, size_t from, Match* match) const;

  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                 // index into tokens_
  };
  int32_t Child(int32_t node, uint8_t byte) const;

  std::vector<Node> nodes_;
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace dv::tok
