// BPE model: turns one pre-token piece into token ids.
//
// Initial symbols are either the piece's bytes (byte-level BPE: GPT-2 mapping, DeepSeek, Qwen,
// Llama 3) or its UTF-8 chars (SentencePiece-style BPE, with <0xXX> byte fallback or unk).
// Symbols then merge, lowest rank first and leftmost first among equal ranks, until no adjacent
// pair merges. Ranks come from the merge list (HF `merges`) or, for GGUF "llama" vocabularies
// that have no merge list, from token scores: a+b merges into token a+b, higher score first.
//
// Short pieces use a linear scan over cached pair ranks; long ones (Chinese runs, long numbers,
// code) use a heap with lazy invalidation, so the cost is O(n log n) per piece. Results for
// pieces up to 46 bytes are remembered in a per-thread direct-mapped cache (8192 entries, about
// 1 MiB per thread, shared by all models and tagged with the model's unique id).
//
// Thread safety: immutable after Create; Encode may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/tokenizer/flat_map.h"
#include "engine/tokenizer/spec.h"

namespace dv::tok {

class BpeModel {
 public:
  // Validates the vocabulary/merges of `spec` (REQUIRES: spec.model == kBpe).
  static Result<BpeModel> Create(const TokenizerSpec& spec);

  // Appends the ids for `piece` (valid UTF-8, or any bytes in byte-level mode) to `out`.
  void Encode(std::string_view piece, std::vector<TokenId>& out) const;

  // Merges adjacent symbols in place (exposed for tests of the two merge strategies). `bytes`,
  // when not empty, are the piece's bytes and symbols[i] is the byte token of bytes[i].
  void MergeLinear(std::vector<TokenId>& symbols, std::string_view bytes = {}) const;
  void MergeHeap(std::vector<TokenId>& symbols, std::string_view bytes = {}) const;

  size_t merge_count() const { return merges_.size(); }

 private:
  void InitialSymbols(std::string_view piece, std::vector<TokenId>& symbols) const;

  uint64_t uid_ = 0;  // tags this model's entries in the per-thread piece cache
  bool byte_level_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
  TokenId unk_id_ = -1;
  FlatStringMap vocab_;                // raw bytes (byte-level) or token text → id
  std::array<TokenId, 256> byte_ids_;  // byte-level: token of each byte; else <0xXX> tokens; -1 if absent
  MergeMap merges_;
  std::vector<int32_t> byte_pairs_;  // byte-level: merge entry of (byte token a, byte token b) at a*256+b, or -1
};

}  // namespace dv::tok
