#include "engine/tokenizer/loader.h"

#include <fstream>

#include "engine/tokenizer/load_gguf.h"
#include "engine/tokenizer/load_hf.h"

namespace dv::tok {
namespace {

bool HasGgufMagic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string_view(magic, 4) == "GGUF";
}

}  // namespace

Result<TokenizerSpec> LoadTokenizerSpec(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound("tokenizer file not found: " + path.string());
  if (HasGgufMagic(path)) return LoadGgufSpec(path);
  return LoadTokenizerJsonSpec(path);
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::filesystem::path& path) {
  DV_ASSIGN_OR_RETURN(TokenizerSpec spec, LoadTokenizerSpec(path));
  return Tokenizer::Create(std::move(spec));
}

}  // namespace dv::tok
