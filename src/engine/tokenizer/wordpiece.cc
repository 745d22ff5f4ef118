#include "engine/tokenizer/wordpiece.h"

#include "common/utf8.h"

namespace dv::tok {

Result<WordPieceModel> WordPieceModel::Create(const TokenizerSpec& spec) {
  WordPieceModel m;
  if (!spec.unk_id) return InvalidArgument("WordPiece vocabulary has no unk token");
  if (spec.max_input_chars_per_word <= 0 || spec.max_input_chars_per_word > 1'000'000) {
    return InvalidArgument("WordPiece max_input_chars_per_word out of range: " +
                           std::to_string(spec.max_input_chars_per_word));
  }
  m.unk_id_ = *spec.unk_id;
  m.prefix_ = spec.continuing_subword_prefix;
  m.max_chars_ = static_cast<size_t>(spec.max_input_chars_per_word);
  m.vocab_.Reset(spec.tokens.size());
  for (size_t id = 0; id < spec.tokens.size(); ++id) {
    m.vocab_.Insert(spec.tokens[id], static_cast<TokenId>(id));
    m.max_token_bytes_ = std::max(m.max_token_bytes_, spec.tokens[id].size());
  }
  return m;
}

void WordPieceModel::Encode(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (utf8::CodePointCount(word) > max_chars_) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first = out.size();
  std::string key;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = std::min(word.size(), start + max_token_bytes_);
    while (end > start && end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    TokenId found = -1;
    while (end > start) {
      key.clear();
      if (start > 0) key += prefix_;
      key.append(word.substr(start, end - start));
      found = vocab_.Find(key);
      if (found >= 0) break;
      do {
        --end;
      } while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {
      out.resize(first);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

}  // namespace dv::tok
