#include "engine/tokenizer/normalize.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/normalizer2.h>

#include "common/utf8.h"
#include "engine/tokenizer/unicode_class.h"

namespace dv::tok {
namespace {

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

const icu::Normalizer2* NormalizerFor(NormalizerStep::Kind kind) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (kind) {
    case NormalizerStep::Kind::kNfc: n = icu::Normalizer2::getNFCInstance(status); break;
    case NormalizerStep::Kind::kNfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
    case NormalizerStep::Kind::kNfd: n = icu::Normalizer2::getNFDInstance(status); break;
    case NormalizerStep::Kind::kNfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
    default: break;
  }
  return U_SUCCESS(status) ? n : nullptr;
}

// Unicode normalization form; ASCII is invariant under all four forms.
void UnicodeNormalize(NormalizerStep::Kind kind, std::string& s) {
  if (IsAscii(s)) return;
  const icu::Normalizer2* n = NormalizerFor(kind);
  if (n == nullptr) return;
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece piece(s.data(), static_cast<int32_t>(s.size()));
  if (n->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return;
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  icu::StringByteSink<std::string> sink(&out);
  status = U_ZERO_ERROR;
  n->normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_SUCCESS(status)) s.swap(out);
}

void Lowercase(std::string& s) {
  if (IsAscii(s)) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return;
  }
  std::string out;
  out.reserve(s.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  icu::CaseMap::utf8ToLower("", 0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, nullptr,
                            status);
  if (U_SUCCESS(status)) s.swap(out);
}

// Removes chars whose class intersects `mask`.
void RemoveClass(std::string& s, uint8_t mask) {
  if (IsAscii(s)) return;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len;
    const char32_t cp = uc::DecodeValid(s.data() + i, &len);
    if (!(uc::Classify(cp) & mask)) out.append(s, i, len);
    i += len;
  }
  s.swap(out);
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

void StripWhitespace(std::string& s, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      int len;
      const char32_t cp = uc::DecodeValid(s.data() + b, &len);
      if (!(uc::Classify(cp) & uc::kSpace)) break;
      b += len;
    }
  }
  if (right) {
    while (e > b) {
      size_t k = e - 1;
      while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
      int len;
      const char32_t cp = uc::DecodeValid(s.data() + k, &len);
      if (!(uc::Classify(cp) & uc::kSpace)) break;
      e = k;
    }
  }
  s = s.substr(b, e - b);
}

// HF BertNormalizer: clean text, pad CJK ideographs with spaces, strip accents, lowercase.
void BertNormalize(const NormalizerStep& step, std::string& s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    int len;
    const char32_t cp = uc::DecodeValid(s.data() + i, &len);
    i += len;
    if (step.clean_text) {
      if (cp == 0 || cp == 0xFFFD) continue;
      const bool ws = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
                      (cp > 0x7F && cp != 0x2028 && cp != 0x2029 && (uc::Classify(cp) & uc::kSpace) &&
                       !(uc::Classify(cp) & uc::kOther));  // Zs
      if (ws) {
        out += ' ';
        continue;
      }
      if (uc::Classify(cp) & uc::kOther) continue;  // control/format chars (\t\n\r handled above)
    }
    if (step.handle_chinese_chars && uc::IsCjkIdeograph(cp)) {
      out += ' ';
      utf8::Append(out, cp);
      out += ' ';
      continue;
    }
    utf8::Append(out, cp);
  }
  s.swap(out);
  if (step.strip_accents) {
    UnicodeNormalize(NormalizerStep::Kind::kNfd, s);
    RemoveClass(s, uc::kMarkNonspacing);
  }
  if (step.lowercase) Lowercase(s);
}

}  // namespace

Result<Normalizer> Normalizer::Create(const std::vector<NormalizerStep>& steps) {
  for (const auto& step : steps) {
    if (NormalizerFor(step.kind) == nullptr &&
        (step.kind == NormalizerStep::Kind::kNfc || step.kind == NormalizerStep::Kind::kNfkc ||
         step.kind == NormalizerStep::Kind::kNfd || step.kind == NormalizerStep::Kind::kNfkd)) {
      return Internal("ICU normalization data is unavailable");
    }
    if (step.kind == NormalizerStep::Kind::kReplace && step.pattern.empty()) {
      return InvalidArgument("Replace normalizer with an empty pattern");
    }
    if (!utf8::IsValid(step.pattern) || !utf8::IsValid(step.content)) {
      return InvalidArgument("normalizer pattern/content is not valid UTF-8");
    }
  }
  Normalizer n;
  n.steps_ = steps;
  return n;
}

void Normalizer::Apply(std::string_view text, std::string& out, bool continues_text) const {
  out.assign(text);
  for (const auto& step : steps_) {
    switch (step.kind) {
      case NormalizerStep::Kind::kNfc:
      case NormalizerStep::Kind::kNfkc:
      case NormalizerStep::Kind::kNfd:
      case NormalizerStep::Kind::kNfkd:
        UnicodeNormalize(step.kind, out);
        break;
      case NormalizerStep::Kind::kLowercase:
        Lowercase(out);
        break;
      case NormalizerStep::Kind::kStripAccents:
        RemoveClass(out, uc::kMark);
        break;
      case NormalizerStep::Kind::kReplace:
        ReplaceAll(out, step.pattern, step.content);
        break;
      case NormalizerStep::Kind::kPrepend:
        if (!out.empty() && !continues_text) out.insert(0, step.content);
        break;
      case NormalizerStep::Kind::kStrip:
        StripWhitespace(out, step.left, step.right);
        break;
      case NormalizerStep::Kind::kBert:
        BertNormalize(step, out);
        break;
    }
  }
}

}  // namespace dv::tok
