// Builds a TokenizerSpec from a Hugging Face `tokenizer.json` (and, when present, the
// `tokenizer_config.json` next to it, for add_bos_token/add_eos_token and bos/eos tokens).
//
// Supported: models BPE and WordPiece; normalizers NFC/NFKC/NFD/NFKD, Lowercase, StripAccents,
// Replace (string pattern), Prepend, Strip, BertNormalizer, Sequence; pre-tokenizers Split,
// ByteLevel, Digits, Metaspace, Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer,
// Sequence; decoders ByteLevel, Metaspace, ByteFallback, Fuse, Strip, WordPiece, Replace,
// Sequence; post-processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel,
// Sequence. Anything else is an Unimplemented error naming the component, never a silent guess.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "deepvault/status.h"
#include "engine/tokenizer/spec.h"

namespace dv::tok {

// `config_json` may be empty (no tokenizer_config.json).
Result<TokenizerSpec> SpecFromTokenizerJson(std::string_view tokenizer_json, std::string_view config_json,
                                            std::string source_name);

// Reads `path` (tokenizer.json, or tokenizer.json.gz) and the tokenizer_config.json in the same
// directory if it exists.
Result<TokenizerSpec> LoadTokenizerJsonSpec(const std::filesystem::path& path);

// Reads a whole file, transparently gunzipping names ending in ".gz"; refuses files above
// `max_bytes` (after decompression).
Result<std::string> ReadTokenizerFile(const std::filesystem::path& path, size_t max_bytes);

}  // namespace dv::tok
