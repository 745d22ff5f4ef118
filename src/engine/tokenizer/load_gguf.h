// Builds a TokenizerSpec from the `tokenizer.ggml.*` metadata of a GGUF file.
//
//   tokenizer.ggml.model   gpt2 (byte-level BPE) | llama (SentencePiece BPE) | bert (WordPiece)
//   tokenizer.ggml.pre     pre-tokenizer of gpt2 vocabularies: default/gpt2, llama3/llama-bpe,
//                          qwen2/deepseek-r1-qwen, deepseek-v3, deepseek-llm, deepseek-coder
//   tokenizer.ggml.tokens / .scores / .token_type / .merges
//   tokenizer.ggml.{bos,eos,unknown,padding,seperator,cls}_token_id, .add_bos_token,
//   .add_eos_token, .add_space_prefix
//
// Control tokens become special added tokens, user-defined tokens non-special added tokens.
// WordPiece vocabularies are stored by llama.cpp with "▁" marking word-initial pieces; they are
// mapped back to the "##" continuation convention.
#pragma once

#include <filesystem>

#include "deepvault/status.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/spec.h"

namespace dv::tok {

Result<TokenizerSpec> SpecFromGguf(const gguf::GgufFile& file);
Result<TokenizerSpec> LoadGgufSpec(const std::filesystem::path& path);

}  // namespace dv::tok
