// TokenizerSpec: a neutral, in-memory description of a tokenizer, independent of where it came
// from. Loaders (load_hf.h for HF tokenizer.json, load_gguf.h for GGUF `tokenizer.ggml.*` keys)
// produce one; Tokenizer::Create (tokenizer.h) validates it and builds the fast structures.
//
// The pipeline mirrors HF `tokenizers`:
//   text → split out added tokens → normalizers → pre-tokenizers → model (BPE | WordPiece)
//        → prefix/suffix ids (only when the caller asks for special tokens to be added)
// and for decoding: ids → per-token bytes (decoder steps) → text.
//
// A spec is a plain value: copyable, no invariants enforced until Tokenizer::Create.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dv::tok {

using TokenId = int32_t;

// Mirrors GGUF `tokenizer.ggml.token_type` (llama.cpp's enum values 1..6).
enum class TokenAttr : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // special token: only matched in text when the caller allows it
  kUserDefined = 4,  // added token that is always matched in text
  kUnused = 5,
  kByte = 6,         // <0xXX> byte-fallback token
};

// A token matched verbatim in the input before normalization (HF "added_tokens").
struct AddedToken {
  std::string content;
  TokenId id = -1;
  bool special = false;      // true: recognised only when EncodeOptions::allow_special
  bool lstrip = false;       // absorbs whitespace on its left
  bool rstrip = false;       // absorbs whitespace on its right
  bool single_word = false;  // only matches when not inside a word
};

struct NormalizerStep {
  enum class Kind : uint8_t {
    kNfc, kNfkc, kNfd, kNfkd,
    kLowercase,
    kStripAccents,  // removes combining marks (Mn); HF applies it after NFD
    kReplace,       // literal `pattern` → `content`
    kPrepend,       // prepends `content` to non-empty text
    kStrip,         // strips whitespace: `left`, `right`
    kBert,          // BertNormalizer: clean_text, handle_chinese_chars, strip_accents, lowercase
  };
  Kind kind = Kind::kNfc;
  std::string pattern, content;
  bool left = false, right = false;
  bool clean_text = true, handle_chinese_chars = true, strip_accents = true, lowercase = true;
};

// How a Split pre-tokenizer treats the matched delimiters (HF SplitDelimiterBehavior).
enum class SplitBehavior : uint8_t { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerStep {
  enum class Kind : uint8_t {
    kSplit,        // regex (pattern_is_regex) or literal `pattern`, with `behavior`, `invert`
    kByteLevel,    // maps bytes to GPT-2 chars (done implicitly by the BPE model); optional GPT-2 regex
    kDigits,       // splits digits off; `individual_digits` isolates each one
    kMetaspace,    // ' ' → `replacement`, optional prepend (`prepend_scheme`), optional split
    kWhitespace,   // \w+|[^\w\s]+
    kWhitespaceSplit,
    kPunctuation,  // isolates each punctuation char
    kBert,         // BertPreTokenizer: split on whitespace (removed) and punctuation (isolated)
  };
  enum class PrependScheme : uint8_t { kAlways, kFirst, kNever };
  Kind kind = Kind::kSplit;
  std::string pattern;
  bool pattern_is_regex = true;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool individual_digits = false;
  bool add_prefix_space = false;  // ByteLevel
  bool use_regex = false;         // ByteLevel: apply the GPT-2 split regex first
  std::string replacement = "\xE2\x96\x81";  // Metaspace, "▁"
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;  // Metaspace
};

struct DecoderStep {
  enum class Kind : uint8_t { kByteLevel, kMetaspace, kByteFallback, kFuse, kStrip, kWordPiece, kReplace };
  Kind kind = Kind::kByteLevel;
  std::string pattern, content;  // Replace; Strip uses content (" ") with start/stop
  int start = 0, stop = 0;       // Strip: chars removed at the start/end of the whole text
  std::string prefix = "##";     // WordPiece
  std::string replacement = "\xE2\x96\x81";
  bool add_prefix_space = true;  // Metaspace: the first token's leading space is dropped
};

enum class ModelType : uint8_t { kBpe, kWordPiece };

struct TokenizerSpec {
  ModelType model = ModelType::kBpe;

  // Vocabulary, indexed by id. `tokens[i]` is the string as stored by the source (byte-level BPE
  // vocabularies use GPT-2's byte→char mapping, "Ġhello"; SentencePiece ones use "▁hello").
  std::vector<std::string> tokens;
  std::vector<float> scores;      // empty, or one per token (SentencePiece merge priority)
  std::vector<TokenAttr> attrs;   // empty (all kNormal), or one per token

  // BPE merges, highest priority first. When empty and `scores` is set, merges are derived from
  // the vocabulary: a+b merges when the string a+b is a token, in order of its score (SentencePiece).
  std::vector<std::pair<std::string, std::string>> merges;
  bool byte_level = false;     // initial symbols are the 256 byte tokens (GPT-2 mapping)
  bool byte_fallback = false;  // unknown chars become <0xXX> tokens
  bool ignore_merges = false;  // a piece that is itself a token is emitted without merging
  bool fuse_unk = false;
  std::optional<TokenId> unk_id;

  // WordPiece.
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;

  std::vector<AddedToken> added_tokens;
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  std::vector<DecoderStep> decoders;

  // Ids put around the encoding when the caller asks for special tokens (BOS, [CLS]/[SEP], ...).
  std::vector<TokenId> prefix_ids, suffix_ids;
  std::optional<TokenId> bos_id, eos_id, pad_id;

  std::string source_name;  // "tokenizer.json" / "gguf:qwen2" etc., for messages
};

}  // namespace dv::tok
