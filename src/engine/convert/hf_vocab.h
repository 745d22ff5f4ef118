// The `tokenizer.ggml.*` metadata llama.cpp's convert_hf_to_gguf.py writes for a byte-level BPE
// `tokenizer.json` (the tokenizer of every Llama-3, Qwen2/2.5/3 and DeepSeek-R1 distill model):
//
//   tokenizer.ggml.model        "gpt2"
//   tokenizer.ggml.pre          the pre-tokenizer name llama.cpp picks (see DetectPreTokenizer)
//   tokenizer.ggml.tokens       vocab_size strings: the vocabulary and added tokens by id, and
//                               "[PAD<id>]" for ids neither uses
//   tokenizer.ggml.token_type   1 normal, 3 control (special added token, or one that looks
//                               special: <|...|>, <｜...｜>), 4 user-defined (other added tokens,
//                               "▁" written as " "), 5 unused ([PAD<id>])
//   tokenizer.ggml.merges       "left right" (a space inside a part is written as U+0120)
//   tokenizer.ggml.{bos,eos,unknown,seperator,padding,cls,mask}_token_id
//                               from tokenizer_config.json's *_token (by content among the added
//                               tokens), else config.json's *_token_id
//   tokenizer.ggml.add_bos_token / add_eos_token
//                               tokenizer_config.json's add_*_token, else whether the
//                               TemplateProcessing post-processor puts a special token first / last
//   tokenizer.chat_template     tokenizer_config.json's chat_template (or chat_template.jinja)
//
// Everything read is validated: sizes are bounded, ids must lie below vocab_size, unknown
// tokenizer models are an error naming them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "deepvault/status.h"
#include "engine/gguf/writer.h"
#include "engine/tokenizer/spec.h"

namespace dv::convert {

struct GgufVocab {
  std::string pre;                    // tokenizer.ggml.pre
  std::string pre_reason;             // how `pre` was chosen, for messages
  std::vector<std::string> tokens;    // one per id
  std::vector<int32_t> token_types;   // one per id (llama.cpp TokenType values)
  std::vector<std::string> merges;
  // ("bos", id), ... in the order llama.cpp writes them.
  std::vector<std::pair<std::string, uint32_t>> special_ids;
  std::vector<std::pair<std::string, bool>> add_special;  // ("bos", true), ("eos", false)
  std::optional<std::string> chat_template;
  std::vector<std::pair<std::string, std::string>> named_chat_templates;  // (name, template)
};

struct VocabOptions {
  // Number of ids (config.json vocab_size); 0: the largest token id + 1.
  uint64_t vocab_size = 0;
  // config.json's *_token_id, used for types tokenizer_config.json does not name.
  std::optional<uint64_t> config_bos_id, config_eos_id, config_pad_id;
  // Forces tokenizer.ggml.pre (must be a name deepvault's GGUF tokenizer loader supports).
  std::string pre_override;
};

// Reads `dir`/tokenizer.json (or tokenizer.json.gz), tokenizer_config.json (optional) and
// chat_template.jinja (optional).
Result<GgufVocab> LoadHfVocab(const std::filesystem::path& dir, const VocabOptions& options);

// Adds the tokenizer.* keys, in llama.cpp's order.
Status AddVocabMetadata(const GgufVocab& vocab, gguf::GgufWriter& writer);

// llama.cpp's identification of a BPE pre-tokenizer: sha256 of the text form ("[1, 2, 3]") of the
// ids HF `tokenizer.encode(chktxt)` gives for a fixed check text, looked up in the table of known
// models (restricted to the pre-tokenizers deepvault implements). When the hash is unknown (a
// retrained vocabulary), the tokenizer.json pre-tokenizer definition itself is compared with the
// known ones. NotFound when neither identifies it.
struct PreTokenizerMatch {
  std::string name;
  std::string hash;    // hex sha256
  bool by_hash = false;
};
Result<PreTokenizerMatch> DetectPreTokenizer(const tok::TokenizerSpec& spec);

// The text llama.cpp encodes for the hash (exposed for tests).
std::string_view PreTokenizerCheckText();

}  // namespace dv::convert
