// WordPiece model (BERT, BGE): greedy longest-match-first over each pre-tokenized word;
// continuation pieces carry `continuing_subword_prefix` ("##"). A word with a part that matches
// nothing, or longer than max_input_chars_per_word chars, becomes the unk token.
//
// Thread safety: immutable after Create; Encode may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/tokenizer/flat_map.h"
#include "engine/tokenizer/spec.h"

namespace dv::tok {

class WordPieceModel {
 public:
  static Result<WordPieceModel> Create(const TokenizerSpec& spec);
  void Encode(std::string_view word, std::vector<TokenId>& out) const;

 private:
  FlatStringMap vocab_;
  std::string prefix_;
  size_t max_chars_ = 100;
  size_t max_token_bytes_ = 0;
  TokenId unk_id_ = -1;
};

}  // namespace dv::tok
