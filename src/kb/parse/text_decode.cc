#include "kb/parse/text_decode.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/ucsdet.h>

#include <memory>
#include <string>
#include <unordered_set>

#include "common/utf8.h"

namespace dv::kb {
namespace {

// The most frequent Chinese characters in simplified and in traditional form. Text decoded with
// the right charset hits this set far more often than the same bytes decoded with the wrong one.
constexpr std::string_view kCommonHanzi =
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年"
    "过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心"
    "本前开但因只从想实日者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问"
    "很最重并物手应向头文体政美相见被利什二等产或新己制身果加西月话合回特代内信表化老给世位次度"
    "门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活更别打女变四总何电数"
    "安少报才结反受目太量再感建务做接必场件计管期市直资命山金指许统区保至队形社便空决治展规"
    "這個們來為國說時會對於著過發後裡現當沒動還進點業將兩間問並產與條義處認題氣總電數報結"
    "決資統區隊權規則據條例應應當機關條款罰責任訂規範員額"
    "国务院条例规定办法人民法院检察院合同当事人责任";

std::unordered_set<char32_t> BuildCommonSet() {
  std::unordered_set<char32_t> set;
  for (char32_t cp : utf8::ToCodePoints(kCommonHanzi)) set.insert(cp);
  return set;
}

bool IsIdeograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2FFFF) ||
         (cp >= 0xF900 && cp <= 0xFAFF);
}

// Fraction of decoded non-ASCII characters that are common hanzi (or CJK punctuation).
double ChineseScore(std::string_view utf8_text) {
  static const std::unordered_set<char32_t> common = BuildCommonSet();
  size_t non_ascii = 0, hits = 0;
  for (char32_t cp : utf8::ToCodePoints(utf8_text)) {
    if (cp < 0x80) continue;
    ++non_ascii;
    if (common.count(cp) || (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF00 && cp <= 0xFF5E)) {
      ++hits;
    } else if (!IsIdeograph(cp)) {
      // Symbols, Hangul, private use: the wrong charset produces these; count them against.
    }
  }
  return non_ascii == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(non_ascii);
}

struct ConverterCloser {
  void operator()(UConverter* c) const { ucnv_close(c); }
};
struct DetectorCloser {
  void operator()(UCharsetDetector* d) const { ucsdet_close(d); }
};

bool MostlyUtf8(std::string_view bytes) {
  size_t valid_multibyte = 0, invalid = 0;
  for (size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    utf8::Decoded d = utf8::DecodeAt(bytes, i);
    (d.valid ? valid_multibyte : invalid) += 1;
    i += static_cast<size_t>(d.length);
  }
  return valid_multibyte > 0 && valid_multibyte >= 2 * invalid;
}

bool IsWesternSingleByte(std::string_view name) {
  return name == "ISO-8859-1" || name == "windows-1252";
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<std::string> ConvertToUtf8(std::string_view bytes, std::string_view charset, bool strict) {
  std::string name(charset);
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UConverter, ConverterCloser> cnv(ucnv_open(name.c_str(), &err));
  if (U_FAILURE(err) || !cnv) return InvalidArgument("unknown charset '" + name + "'");
  if (strict) {
    ucnv_setToUCallBack(cnv.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &err);
  }
  if (bytes.size() > (size_t{1} << 30)) return ResourceExhausted("text too large to convert");
  // Each source byte yields at most 3 UTF-8 bytes (a 4-byte source sequence yields at most 4).
  std::string out(bytes.size() * 3 + 16, '\0');
  int32_t n = ucnv_toAlgorithmic(UCNV_UTF8, cnv.get(), out.data(), static_cast<int32_t>(out.size()), bytes.data(),
                                 static_cast<int32_t>(bytes.size()), &err);
  if (U_FAILURE(err)) {
    return InvalidArgument("bytes are not valid " + name + " (" + u_errorName(err) + ")");
  }
  out.resize(static_cast<size_t>(n));
  if (!utf8::IsValid(out)) out = utf8::Sanitize(out);
  return out;
}

DecodedText DecodeText(std::string_view bytes, std::string_view declared_charset) {
  // 1. Byte-order marks.
  if (HasPrefix(bytes, "\xEF\xBB\xBF")) {
    return {utf8::Sanitize(bytes.substr(3)), "UTF-8"};
  }
  if (HasPrefix(bytes, std::string_view("\xFF\xFE\0\0", 4)) || HasPrefix(bytes, std::string_view("\0\0\xFE\xFF", 4))) {
    const char* cs = bytes[0] == '\xFF' ? "UTF-32LE" : "UTF-32BE";
    auto r = ConvertToUtf8(bytes.substr(4), cs, false);
    if (r.ok()) return {std::move(r).value(), cs};
  }
  if (HasPrefix(bytes, "\xFF\xFE") || HasPrefix(bytes, "\xFE\xFF")) {
    const char* cs = bytes[0] == '\xFF' ? "UTF-16LE" : "UTF-16BE";
    auto r = ConvertToUtf8(bytes.substr(2), cs, false);
    if (r.ok()) return {std::move(r).value(), cs};
  }
  // 2. A declared charset that fits the bytes.
  if (!declared_charset.empty()) {
    auto r = ConvertToUtf8(bytes, declared_charset, /*strict=*/true);
    if (r.ok()) {
      UErrorCode err = U_ZERO_ERROR;
      const char* canonical = ucnv_getCanonicalName(std::string(declared_charset).c_str(), "", &err);
      return {std::move(r).value(), canonical && *canonical ? canonical : std::string(declared_charset)};
    }
  }
  // 3. UTF-8 (ASCII included), also when a few bytes are damaged: a text whose valid multi-byte
  // sequences clearly outnumber its invalid ones is UTF-8 (legacy CJK bytes rarely form valid
  // UTF-8 sequences, so GBK/Big5 text scores far below this).
  if (utf8::IsValid(bytes)) return {std::string(bytes), "UTF-8"};
  if (MostlyUtf8(bytes)) return {utf8::Sanitize(bytes), "UTF-8"};

  // 4. Chinese legacy encodings, judged by content.
  std::string best_text;
  std::string best_charset;
  double best_score = -1.0;
  for (const char* cs : {"GB18030", "Big5"}) {
    auto r = ConvertToUtf8(bytes, cs, /*strict=*/true);
    if (!r.ok()) continue;
    double score = ChineseScore(*r);
    if (score > best_score) {
      best_score = score;
      best_text = std::move(r).value();
      best_charset = cs;
    }
  }
  if (best_score >= 0.2) return {std::move(best_text), best_charset};

  // 5. ICU's statistical detector.
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UCharsetDetector, DetectorCloser> det(ucsdet_open(&err));
  if (U_SUCCESS(err) && bytes.size() <= static_cast<size_t>(INT32_MAX)) {
    ucsdet_setText(det.get(), bytes.data(), static_cast<int32_t>(bytes.size()), &err);
    int32_t count = 0;
    const UCharsetMatch** matches = ucsdet_detectAll(det.get(), &count, &err);
    const UCharsetMatch* match = U_SUCCESS(err) && count > 0 ? matches[0] : nullptr;
    // Short Latin texts are often misjudged as ISO-8859-2/-9 or windows-125x; unless the other
    // candidate is clearly better, the Western encoding is the far more likely one.
    if (match) {
      const char* top = ucsdet_getName(match, &err);
      int32_t top_confidence = ucsdet_getConfidence(match, &err);
      for (int32_t i = 1; U_SUCCESS(err) && top && i < count; ++i) {
        const char* name = ucsdet_getName(matches[i], &err);
        if (std::string_view(top).rfind("ISO-8859-", 0) != 0 && std::string_view(top).rfind("windows-125", 0) != 0) {
          break;
        }
        if (name && IsWesternSingleByte(name) && !IsWesternSingleByte(top) &&
            ucsdet_getConfidence(matches[i], &err) + 20 >= top_confidence) {
          match = matches[i];
          break;
        }
      }
    }
    if (U_SUCCESS(err) && match) {
      const char* name = ucsdet_getName(match, &err);
      if (U_SUCCESS(err) && name) {
        auto r = ConvertToUtf8(bytes, name, /*strict=*/false);
        if (r.ok()) return {std::move(r).value(), name};
      }
    }
  }
  if (!best_charset.empty()) return {std::move(best_text), best_charset};
  return {utf8::Sanitize(bytes), "UTF-8"};
}

}  // namespace dv::kb
