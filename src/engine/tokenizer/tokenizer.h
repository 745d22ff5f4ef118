// Tokenizer: encodes text to token ids and decodes ids back to bytes, for every tokenizer
// described by a TokenizerSpec (byte-level BPE, SentencePiece-style BPE, WordPiece).
//
//   DV_ASSIGN_OR_RETURN(auto tok, tok::LoadTokenizer("tokenizer.json"));   // loader.h
//   DV_ASSIGN_OR_RETURN(auto ids, tok->Encode("你好, world"));
//   tok::StreamingDetokenizer stream(*tok);
//   for (TokenId id : generated) std::cout << stream.Feed(id).value();
//
// Special tokens: a special added token (e.g. "<｜end▁of▁sentence｜>", "<|im_start|>") written in
// the input is only recognised when EncodeOptions::allow_special is set; by default it is
// tokenized as ordinary text, so user input cannot forge control tokens. Non-special added tokens
// are always recognised (as in HF `tokenizers`).
//
// Thread safety: a Tokenizer is immutable after Create; all const methods may be called
// concurrently. StreamingDetokenizer is one per stream.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.h"
#include "deepvault/status.h"
#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/normalize.h"
#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/spec.h"
#include "engine/tokenizer/wordpiece.h"

namespace dv::tok {

struct EncodeOptions {
  bool allow_special = false;  // recognise special tokens written in the text
  bool add_special = false;    // add the spec's prefix/suffix ids (BOS, [CLS]/[SEP], ...)
  bool continuation = false;   // text continues earlier input: no start-of-input handling
                               // (e.g. SentencePiece's dummy-prefix space)
};

struct DecodeOptions {
  bool skip_special = false;  // drop control/special tokens from the output
};

class Tokenizer {
 public:
  // Upper bound on vocabulary size and on one input, to refuse absurd inputs early.
  static constexpr size_t kMaxVocab = 4'000'000;
  static constexpr size_t kMaxInputBytes = size_t{1} << 30;

  // Validates `spec` and builds the lookup structures.
  static Result<std::unique_ptr<Tokenizer>> Create(TokenizerSpec spec);

  // Encodes `text`, which must be valid UTF-8 (otherwise InvalidArgument naming the offset).
  Result<std::vector<TokenId>> Encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Same, appending to `out`.
  Status EncodeAppend(std::string_view text, const EncodeOptions& options, std::vector<TokenId>& out) const;

  // Decodes ids to bytes. The result is valid UTF-8 unless the ids end or start inside a
  // character (use utf8::Sanitize for display). Out-of-range ids are InvalidArgument.
  Result<std::string> Decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;

  // The bytes token `id` contributes when not first in the output. REQUIRES: IsValidId(id).
  std::string_view TokenBytes(TokenId id) const { return piece_bytes_[static_cast<size_t>(id)]; }
  // The vocabulary entry of `id` as stored ("Ġhello", "▁hello", "##ing"). REQUIRES: IsValidId(id).
  std::string_view TokenText(TokenId id) const { return spec_.tokens[static_cast<size_t>(id)]; }
  bool IsValidId(TokenId id) const { return id >= 0 && static_cast<size_t>(id) < spec_.tokens.size(); }
  // Control/special tokens (skipped by DecodeOptions::skip_special). REQUIRES: IsValidId(id).
  bool IsSpecial(TokenId id) const { return special_[static_cast<size_t>(id)]; }
  // Id of a token by its exact vocabulary or added-token text.
  std::optional<TokenId> FindToken(std::string_view text) const;

  size_t vocab_size() const { return spec_.tokens.size(); }
  const TokenizerSpec& spec() const { return spec_; }
  // Leading spaces dropped from the first decoded token (Metaspace/Strip/WordPiece decoders).
  int leading_spaces_to_strip() const { return strip_leading_spaces_; }
  // Split engines of the pre-tokenizer ("qwen2", "deepseek-v3", "icu", ...).
  std::vector<std::string_view> split_engines() const { return pre_tokenizer_.split_engines(); }

 private:
  Tokenizer() = default;
  // `continues_text`: the segment directly continues text encoded by an earlier call
  // (EncodeOptions::continuation), so no start-of-text handling applies to it at all.
  void EncodeSegment(std::string_view segment, bool at_input_start, bool continues_text,
                     std::vector<TokenId>& out) const;

  TokenizerSpec spec_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  std::optional<BpeModel> bpe_;
  std::optional<WordPieceModel> wordpiece_;
  AddedTokenMatcher all_added_, non_special_added_;
  std::vector<std::string> piece_bytes_;
  std::vector<bool> special_;
  int strip_leading_spaces_ = 0;
};

// Turns a stream of ids into text that never splits a UTF-8 character: bytes of a partial
// character are held until the token that completes it arrives.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, DecodeOptions options = {})
      : tokenizer_(tokenizer), options_(options), strip_(tokenizer.leading_spaces_to_strip()) {}

  // Text completed by `id` (valid UTF-8, possibly empty). Out-of-range id → InvalidArgument.
  Result<std::string> Feed(TokenId id);
  // The held-back tail (an incomplete character becomes U+FFFD); resets the stream.
  std::string Finish();

 private:
  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  utf8::StreamDecoder decoder_;
  int strip_;
  bool started_ = false;
};

}  // namespace dv::tok
