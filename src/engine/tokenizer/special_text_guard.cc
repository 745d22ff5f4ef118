#include "engine/tokenizer/special_text_guard.h"

#include <algorithm>

namespace dv::tok {

SpecialTextGuard::SpecialTextGuard(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {
  for (const AddedToken& t : tokenizer.spec().added_tokens) {
    if (!t.special || t.content.empty()) continue;
    specials_.insert(t.content);
    first_byte_[static_cast<uint8_t>(t.content[0])] = true;
    if (std::find(lengths_.begin(), lengths_.end(), t.content.size()) == lengths_.end()) {
      lengths_.push_back(t.content.size());
    }
  }
  // Control tokens of GGUF vocabularies are not always listed as added tokens.
  const std::vector<std::string>& texts = tokenizer.spec().tokens;
  for (size_t id = 0; id < texts.size(); ++id) {
    const std::string& text = texts[id];
    if (text.empty() || !tokenizer.IsSpecial(static_cast<TokenId>(id)) || specials_.contains(text)) continue;
    if (!tokenizer.FindToken(text)) continue;
    specials_.insert(text);
    first_byte_[static_cast<uint8_t>(text[0])] = true;
    if (std::find(lengths_.begin(), lengths_.end(), text.size()) == lengths_.end()) lengths_.push_back(text.size());
  }
  std::sort(lengths_.rbegin(), lengths_.rend());
}

size_t SpecialTextGuard::MatchAt(std::string_view text, size_t pos) const {
  if (!first_byte_[static_cast<uint8_t>(text[pos])]) return 0;
  for (size_t len : lengths_) {
    if (len <= text.size() - pos && specials_.contains(text.substr(pos, len))) return len;
  }
  return 0;
}

std::string SpecialTextGuard::Protect(std::string_view text) {
  std::string out;
  size_t copied = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t len = text.compare(pos, kMarker.size(), kMarker) == 0 ? kMarker.size() : MatchAt(text, pos);
    if (len == 0) {
      ++pos;
      continue;
    }
    out.append(text, copied, pos - copied);
    out.append(kMarker).append(std::to_string(originals_.size())).append(kMarker);
    originals_.emplace_back(text.substr(pos, len));
    pos += len;
    copied = pos;
  }
  if (copied == 0) return std::string(text);
  out.append(text, copied, std::string_view::npos);
  return out;
}

template <typename F>
Status SpecialTextGuard::ForEachPiece(std::string_view rendered, F&& on_text) const {
  size_t segment_begin = 0;  // start of template text not yet reported
  size_t scan = 0;
  while (!originals_.empty()) {
    const size_t open = rendered.find(kMarker, scan);
    if (open == std::string_view::npos) break;
    const size_t digits = open + kMarker.size();
    size_t end = digits;
    while (end < rendered.size() && end - digits < 10 && rendered[end] >= '0' && rendered[end] <= '9') ++end;
    size_t index = 0;
    bool valid = end > digits && rendered.compare(end, kMarker.size(), kMarker) == 0;
    for (size_t i = digits; valid && i < end; ++i) index = index * 10 + static_cast<size_t>(rendered[i] - '0');
    if (!valid || index >= originals_.size()) {
      scan = digits;  // not a placeholder: the marker stays part of the surrounding text
      continue;
    }
    if (open > segment_begin) DV_RETURN_IF_ERROR(on_text(rendered.substr(segment_begin, open - segment_begin), false));
    DV_RETURN_IF_ERROR(on_text(std::string_view(originals_[index]), true));
    segment_begin = scan = end + kMarker.size();
  }
  if (rendered.size() > segment_begin) DV_RETURN_IF_ERROR(on_text(rendered.substr(segment_begin), false));
  return Status::Ok();
}

Result<std::vector<TokenId>> SpecialTextGuard::Encode(std::string_view rendered) const {
  std::vector<TokenId> ids;
  bool first = true;
  DV_RETURN_IF_ERROR(ForEachPiece(rendered, [&](std::string_view text, bool is_original) -> Status {
    EncodeOptions options;
    options.allow_special = !is_original;
    options.continuation = !first;
    first = false;
    return tokenizer_.EncodeAppend(text, options, ids);
  }));
  return ids;
}

std::string SpecialTextGuard::Restore(std::string_view rendered) const {
  std::string out;
  out.reserve(rendered.size());
  Status s = ForEachPiece(rendered, [&](std::string_view text, bool) {
    out.append(text);
    return Status::Ok();
  });
  (void)s;  // the callback cannot fail
  return out;
}

}  // namespace dv::tok
