// One entry point for loading a tokenizer from a file: GGUF (by the "GGUF" magic) or HF
// tokenizer.json (optionally .json.gz, with tokenizer_config.json read from the same directory).
#pragma once

#include <filesystem>
#include <memory>

#include "deepvault/status.h"
#include "engine/tokenizer/spec.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::tok {

Result<TokenizerSpec> LoadTokenizerSpec(const std::filesystem::path& path);
Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::filesystem::path& path);

}  // namespace dv::tok
