#include "engine/tokenizer/tokenizer.h"

#include <string>

#include "engine/tokenizer/byte_level.h"

namespace dv::tok {
namespace {

std::string IdRangeError(const char* what, TokenId id, size_t vocab) {
  return std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary (size " +
         std::to_string(vocab) + ")";
}

Status CheckId(const char* what, std::optional<TokenId> id, size_t vocab) {
  if (id && (*id < 0 || static_cast<size_t>(*id) >= vocab)) return InvalidArgument(IdRangeError(what, *id, vocab));
  return Status::Ok();
}

// "<0x41>" → 0x41, or -1.
int ByteTokenValue(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(s[3]), lo = hex(s[4]);
  return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

void ReplaceAllIn(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// Applies the decoder steps to one token. Returns the bytes it contributes when not first.
std::string DecodePiece(const std::vector<DecoderStep>& decoders, std::string_view token) {
  std::string s(token);
  for (const DecoderStep& d : decoders) {
    switch (d.kind) {
      case DecoderStep::Kind::kByteLevel: {
        std::string raw;
        byte_level::Decode(s, raw);
        s.swap(raw);
        break;
      }
      case DecoderStep::Kind::kReplace:
        ReplaceAllIn(s, d.pattern, d.content);
        break;
      case DecoderStep::Kind::kMetaspace:
        ReplaceAllIn(s, d.replacement, " ");
        break;
      case DecoderStep::Kind::kByteFallback: {
        const int b = ByteTokenValue(s);
        if (b >= 0) s.assign(1, static_cast<char>(b));
        break;
      }
      case DecoderStep::Kind::kWordPiece:
        if (!d.prefix.empty() && s.compare(0, d.prefix.size(), d.prefix) == 0) {
          s.erase(0, d.prefix.size());
        } else {
          s = std::string(" ").append(s);
        }
        break;
      case DecoderStep::Kind::kFuse:
      case DecoderStep::Kind::kStrip:
        break;
    }
  }
  return s;
}

// Appends token bytes, dropping up to `*strip` leading spaces from the start of the output.
void AppendPiece(std::string_view bytes, bool* started, int* strip, std::string& out) {
  if (!*started) {
    while (*strip > 0 && !bytes.empty() && bytes.front() == ' ') {
      bytes.remove_prefix(1);
      --*strip;
    }
    if (bytes.empty()) return;
    *started = true;
  }
  out.append(bytes);
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::Create(TokenizerSpec spec) {
  const size_t n = spec.tokens.size();
  const std::string where = spec.source_name.empty() ? "tokenizer" : spec.source_name;
  auto fail = [&](Status s) { return std::move(s.AddContext("building " + where)); };
  if (n == 0) return fail(InvalidArgument("the vocabulary is empty"));
  if (n > kMaxVocab) return fail(InvalidArgument("vocabulary of " + std::to_string(n) + " tokens exceeds the limit of " + std::to_string(kMaxVocab)));
  if (!spec.scores.empty() && spec.scores.size() != n) {
    return fail(InvalidArgument(std::to_string(spec.scores.size()) + " scores for " + std::to_string(n) + " tokens"));
  }
  if (!spec.attrs.empty() && spec.attrs.size() != n) {
    return fail(InvalidArgument(std::to_string(spec.attrs.size()) + " token types for " + std::to_string(n) + " tokens"));
  }
  for (TokenAttr a : spec.attrs) {
    if (static_cast<int>(a) < 1 || static_cast<int>(a) > 6) return fail(InvalidArgument("token type out of range 1..6"));
  }
  DV_RETURN_IF_ERROR(fail(CheckId("unk", spec.unk_id, n)));
  DV_RETURN_IF_ERROR(fail(CheckId("bos", spec.bos_id, n)));
  DV_RETURN_IF_ERROR(fail(CheckId("eos", spec.eos_id, n)));
  DV_RETURN_IF_ERROR(fail(CheckId("pad", spec.pad_id, n)));
  for (TokenId id : spec.prefix_ids) DV_RETURN_IF_ERROR(fail(CheckId("prefix", id, n)));
  for (TokenId id : spec.suffix_ids) DV_RETURN_IF_ERROR(fail(CheckId("suffix", id, n)));
  for (const AddedToken& t : spec.added_tokens) {
    DV_RETURN_IF_ERROR(fail(CheckId("added token", t.id, n)));
    if (t.content.empty()) return fail(InvalidArgument("added token " + std::to_string(t.id) + " has empty content"));
    if (!utf8::IsValid(t.content)) {
      return fail(InvalidArgument("added token " + std::to_string(t.id) + " is not valid UTF-8"));
    }
  }

  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  {
    auto normalizer = Normalizer::Create(spec.normalizers);
    if (!normalizer.ok()) return fail(normalizer.status());
    tok->normalizer_ = std::move(normalizer).value();
    auto pre = PreTokenizer::Create(spec.pre_tokenizers);
    if (!pre.ok()) return fail(pre.status());
    tok->pre_tokenizer_ = std::move(pre).value();
  }
  if (spec.model == ModelType::kBpe) {
    auto bpe = BpeModel::Create(spec);
    if (!bpe.ok()) return fail(bpe.status());
    tok->bpe_.emplace(std::move(bpe).value());
    if (spec.byte_level && !spec.unk_id) {
      // Every byte must be encodable, or text would be silently dropped.
      std::vector<TokenId> probe;
      for (int b = 0; b < 256; ++b) {
        probe.clear();
        const char c = static_cast<char>(b);
        tok->bpe_->Encode(std::string_view(&c, 1), probe);
        if (probe.empty()) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "0x%02X", b);
          return fail(InvalidArgument(std::string("byte-level vocabulary has no token for byte ") + buf));
        }
      }
    }
  } else {
    auto wp = WordPieceModel::Create(spec);
    if (!wp.ok()) return fail(wp.status());
    tok->wordpiece_.emplace(std::move(wp).value());
  }
  tok->all_added_.Build(spec.added_tokens, /*include_special=*/true);
  tok->non_special_added_.Build(spec.added_tokens, /*include_special=*/false);

  tok->special_.assign(n, false);
  for (size_t id = 0; id < n; ++id) {
    if (!spec.attrs.empty() && spec.attrs[id] == TokenAttr::kControl) tok->special_[id] = true;
  }
  for (const AddedToken& t : spec.added_tokens) {
    if (t.special) tok->special_[static_cast<size_t>(t.id)] = true;
  }

  tok->piece_bytes_.resize(n);
  for (size_t id = 0; id < n; ++id) tok->piece_bytes_[id] = DecodePiece(spec.decoders, spec.tokens[id]);
  for (const DecoderStep& d : spec.decoders) {
    if (d.kind == DecoderStep::Kind::kMetaspace && d.add_prefix_space) tok->strip_leading_spaces_ = 1;
    if (d.kind == DecoderStep::Kind::kWordPiece) tok->strip_leading_spaces_ = 1;
    if (d.kind == DecoderStep::Kind::kStrip && d.content == " ") tok->strip_leading_spaces_ = d.start;
  }
  tok->spec_ = std::move(spec);
  return tok;
}

std::optional<TokenId> Tokenizer::FindToken(std::string_view text) const {
  for (const AddedToken& t : spec_.added_tokens) {
    if (t.content == text) return t.id;
  }
  for (size_t id = 0; id < spec_.tokens.size(); ++id) {
    if (spec_.tokens[id] == text) return static_cast<TokenId>(id);
  }
  return std::nullopt;
}

Result<std::vector<TokenId>> Tokenizer::Encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  DV_RETURN_IF_ERROR(EncodeAppend(text, options, ids));
  return ids;
}

Status Tokenizer::EncodeAppend(std::string_view text, const EncodeOptions& options, std::vector<TokenId>& out) const {
  if (text.size() > kMaxInputBytes) {
    return PayloadTooLarge("input of " + std::to_string(text.size()) + " bytes exceeds the tokenizer limit of " +
                           std::to_string(kMaxInputBytes));
  }
  if (const size_t bad = utf8::FirstInvalidOffset(text); bad != std::string_view::npos) {
    return InvalidArgument("input text is not valid UTF-8 (first invalid byte at offset " + std::to_string(bad) + ")");
  }
  if (options.add_special) out.insert(out.end(), spec_.prefix_ids.begin(), spec_.prefix_ids.end());
  const AddedTokenMatcher& matcher = options.allow_special ? all_added_ : non_special_added_;
  size_t pos = 0;
  const bool input_start = !options.continuation;
  AddedTokenMatcher::Match m;
  while (matcher.FindNext(text, pos, &m)) {
    EncodeSegment(text.substr(pos, m.begin - pos), input_start && pos == 0, !input_start && pos == 0, out);
    out.push_back(m.id);
    pos = m.end;
  }
  EncodeSegment(text.substr(pos), input_start && pos == 0, !input_start && pos == 0, out);
  if (options.add_special) out.insert(out.end(), spec_.suffix_ids.begin(), spec_.suffix_ids.end());
  return Status::Ok();
}

void Tokenizer::EncodeSegment(std::string_view segment, bool at_input_start, bool continues_text,
                              std::vector<TokenId>& out) const {
  if (segment.empty()) return;
  thread_local std::string normalized;
  thread_local PieceList pieces;
  std::string_view text = segment;
  if (!normalizer_.empty()) {
    normalizer_.Apply(segment, normalized, continues_text);
    text = normalized;
  }
  pre_tokenizer_.Apply(text, at_input_start, pieces);
  const std::string_view all(pieces.text);
  for (const Span& sp : pieces.spans) {
    const std::string_view piece = all.substr(sp.begin, sp.end - sp.begin);
    if (bpe_) {
      bpe_->Encode(piece, out);
    } else {
      wordpiece_->Encode(piece, out);
    }
  }
}

Result<std::string> Tokenizer::Decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
  std::string out;
  bool started = false;
  int strip = strip_leading_spaces_;
  for (TokenId id : ids) {
    if (!IsValidId(id)) return InvalidArgument(IdRangeError("token", id, vocab_size()));
    if (options.skip_special && special_[static_cast<size_t>(id)]) continue;
    AppendPiece(piece_bytes_[static_cast<size_t>(id)], &started, &strip, out);
  }
  return out;
}

Result<std::string> StreamingDetokenizer::Feed(TokenId id) {
  if (!tokenizer_.IsValidId(id)) {
    return InvalidArgument(IdRangeError("token", id, tokenizer_.vocab_size()));
  }
  if (options_.skip_special && tokenizer_.IsSpecial(id)) return std::string();
  std::string bytes;
  AppendPiece(tokenizer_.TokenBytes(id), &started_, &strip_, bytes);
  return decoder_.Feed(bytes);
}

std::string StreamingDetokenizer::Finish() {
  std::string rest = decoder_.Flush();
  started_ = false;
  strip_ = tokenizer_.leading_spaces_to_strip();
  return rest;
}

}  // namespace dv::tok
