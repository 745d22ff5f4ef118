#include "kb/analysis/analyzer.h"

#include <libstemmer.h>
#include <opencc/opencc.h>
#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <unordered_set>

#include "common/utf8.h"

namespace dv::kb {

namespace {

constexpr size_t kMaxTermBytes = 120;

// English stop words (the common function words of English; the list is ours).
const std::unordered_set<std::string_view>& StopWords() {
  static const std::unordered_set<std::string_view> kWords = {
      "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
      "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
      "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
      "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
      "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
      "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once",
      "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she",
      "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
      "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
      "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
      "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
      "yourselves", "s", "t"};
  return kWords;
}

bool IsConnector(char16_t c) {
  return c == u'-' || c == u'_' || c == u'.' || c == u'/' || c == u':' || c == u'+' || c == u'#';
}

enum class SegKind : uint8_t { kNone, kWord, kCjk };

struct Segment {
  int32_t begin;  // UTF-16 offsets into the folded text
  int32_t end;
  SegKind kind;
};

// A pool of objects that are not thread-safe (ICU iterators, Snowball stemmers).
template <typename T, typename Deleter>
class Pool {
 public:
  using Ptr = std::unique_ptr<T, Deleter>;
  explicit Pool(std::function<Ptr()> make) : make_(std::move(make)) {}

  class Lease {
   public:
    Lease(Pool* pool, Ptr obj) : pool_(pool), obj_(std::move(obj)) {}
    ~Lease() {
      std::lock_guard<std::mutex> lock(pool_->mu_);
      pool_->free_.push_back(std::move(obj_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    T* get() const { return obj_.get(); }

   private:
    Pool* pool_;
    Ptr obj_;
  };

  Lease Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        Ptr p = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(p));
      }
    }
    return Lease(this, make_());
  }

 private:
  std::function<Ptr()> make_;
  std::mutex mu_;
  std::vector<Ptr> free_;
};

struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

void AppendUtf8(std::string& out, const char16_t* p, int32_t len) {
  for (int32_t i = 0; i < len;) {
    UChar32 c;
    U16_NEXT(p, i, len, c);
    utf8::Append(out, static_cast<char32_t>(c));
  }
}

}  // namespace

bool IsEnglishStopWord(std::string_view word) { return StopWords().count(word) > 0; }

struct Analyzer::Impl {
  AnalyzerOptions options;
  std::vector<char32_t> bmp_fold;  // folded form of every BMP code point
  const icu::Normalizer2* nfkc_cf = nullptr;
  std::unique_ptr<icu::BreakIterator> prototype;
  std::unique_ptr<Pool<icu::BreakIterator, std::default_delete<icu::BreakIterator>>> iterators;
  std::unique_ptr<Pool<sb_stemmer, StemmerDeleter>> stemmers;

  char32_t FoldSlow(char32_t cp) const {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString in(static_cast<UChar32>(cp));
    icu::UnicodeString folded = nfkc_cf->normalize(in, status);
    if (U_FAILURE(status) || folded.countChar32() != 1) return cp;
    return static_cast<char32_t>(folded.char32At(0));
  }

  Status BuildFoldTable() {
    bmp_fold.resize(0x10000);
    for (char32_t cp = 0; cp < 0x10000; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        bmp_fold[cp] = 0xFFFD;
      } else if (cp < 0x80) {
        bmp_fold[cp] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
      } else {
        bmp_fold[cp] = FoldSlow(cp);
      }
    }
    if (options.opencc_config.empty()) return Status::Ok();
    opencc_t cc = opencc_open(options.opencc_config.c_str());
    if (cc == reinterpret_cast<opencc_t>(-1)) {
      return FailedPrecondition("cannot load OpenCC configuration " + options.opencc_config + ": " +
                                opencc_error() + " (install the Debian package opencc)");
    }
    // Convert every ideograph on its own line so the character tables apply, never phrases.
    std::vector<char32_t> ideographs;
    std::string batch;
    for (char32_t cp = 0x3400; cp < 0x10000; ++cp) {
      if (!u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_IDEOGRAPHIC)) continue;
      ideographs.push_back(cp);
      utf8::Append(batch, cp);
      batch += '\n';
    }
    char* converted = opencc_convert_utf8(cc, batch.data(), batch.size());
    if (converted == nullptr) {
      opencc_close(cc);
      return Internal(std::string("OpenCC conversion failed: ") + opencc_error());
    }
    std::string_view rest(converted);
    for (char32_t original : ideographs) {
      size_t nl = rest.find('\n');
      if (nl == std::string_view::npos) break;
      std::u32string cps = utf8::ToCodePoints(rest.substr(0, nl));
      rest.remove_prefix(nl + 1);
      if (cps.size() == 1 && cps[0] != original) {
        // Apply to the code point itself and to anything that NFKC-folds onto it.
        bmp_fold[original] = cps[0];
      }
    }
    opencc_convert_utf8_free(converted);
    opencc_close(cc);
    // Compatibility ideographs fold to unified ones first; follow them through the t2s table.
    for (char32_t cp = 0x80; cp < 0x10000; ++cp) {
      char32_t f = bmp_fold[cp];
      if (f != cp && f < 0x10000 && bmp_fold[f] != f) bmp_fold[cp] = bmp_fold[f];
    }
    return Status::Ok();
  }
};

Analyzer::Analyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Analyzer::~Analyzer() = default;

Result<std::unique_ptr<Analyzer>> Analyzer::Create(const AnalyzerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  UErrorCode status = U_ZERO_ERROR;
  impl->nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status)) {
    return FailedPrecondition(std::string("ICU NFKC case-fold data unavailable: ") + u_errorName(status));
  }
  impl->prototype.reset(icu::BreakIterator::createWordInstance(icu::Locale("zh"), status));
  if (U_FAILURE(status) || impl->prototype == nullptr) {
    return FailedPrecondition(std::string("ICU word break iterator unavailable: ") + u_errorName(status));
  }
  if (options.stem_english) {
    sb_stemmer* probe = sb_stemmer_new("english", "UTF_8");
    if (probe == nullptr) return FailedPrecondition("Snowball English stemmer unavailable");
    sb_stemmer_delete(probe);
  }
  DV_RETURN_IF_ERROR(impl->BuildFoldTable());
  icu::BreakIterator* proto = impl->prototype.get();
  impl->iterators = std::make_unique<Pool<icu::BreakIterator, std::default_delete<icu::BreakIterator>>>(
      [proto] { return std::unique_ptr<icu::BreakIterator>(proto->clone()); });
  impl->stemmers = std::make_unique<Pool<sb_stemmer, StemmerDeleter>>(
      [] { return std::unique_ptr<sb_stemmer, StemmerDeleter>(sb_stemmer_new("english", "UTF_8")); });
  return std::unique_ptr<Analyzer>(new Analyzer(std::move(impl)));
}

char32_t Analyzer::Fold(char32_t cp) const {
  if (cp < 0x10000) return impl_->bmp_fold[cp];
  if (cp > utf8::kMaxCodePoint) return utf8::kReplacementChar;
  return impl_->FoldSlow(cp);
}

std::vector<std::string> Analyzer::Terms(std::string_view text) const {
  std::vector<Token> tokens;
  Analyze(text, &tokens);
  std::vector<std::string> terms;
  terms.reserve(tokens.size());
  for (Token& t : tokens) terms.push_back(std::move(t.term));
  return terms;
}

uint32_t Analyzer::Analyze(std::string_view text, std::vector<Token>* out, uint32_t position) const {
  // 1. Fold into UTF-16, remembering the source byte offset of every UTF-16 unit.
  std::u16string folded;
  std::vector<uint32_t> source;  // size folded.size() + 1
  folded.reserve(text.size());
  source.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    int len;
    const unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else {
      utf8::Decoded d = utf8::DecodeAt(text, i);
      cp = d.valid ? d.code_point : utf8::kReplacementChar;
      len = d.length;
    }
    cp = Fold(cp);
    if (cp < 0x10000) {
      folded.push_back(static_cast<char16_t>(cp));
      source.push_back(static_cast<uint32_t>(i));
    } else {
      folded.push_back(static_cast<char16_t>(U16_LEAD(cp)));
      folded.push_back(static_cast<char16_t>(U16_TRAIL(cp)));
      source.push_back(static_cast<uint32_t>(i));
      source.push_back(static_cast<uint32_t>(i));
    }
    i += static_cast<size_t>(len);
  }
  source.push_back(static_cast<uint32_t>(text.size()));
  if (folded.empty()) return position;

  // 2. Segment.
  std::vector<Segment> segs;
  {
    icu::UnicodeString us(false, folded.data(), static_cast<int32_t>(folded.size()));
    auto lease = impl_->iterators->Acquire();
    icu::BreakIterator* bi = lease.get();
    bi->setText(us);
    int32_t start = bi->first();
    for (int32_t end = bi->next(); end != icu::BreakIterator::DONE; start = end, end = bi->next()) {
      const int32_t status = bi->getRuleStatus();
      SegKind kind = SegKind::kNone;
      if (status >= UBRK_WORD_KANA && status < UBRK_WORD_IDEO_LIMIT) {
        kind = SegKind::kCjk;
      } else if (status >= UBRK_WORD_NUMBER && status < UBRK_WORD_LETTER_LIMIT) {
        kind = SegKind::kWord;
      }
      segs.push_back({start, end, kind});
    }
  }

  const char16_t* f = folded.data();
  auto emit = [&](std::string term, uint32_t pos, int32_t b, int32_t e, bool chain) {
    if (term.empty() || term.size() > kMaxTermBytes) return;
    out->push_back(Token{std::move(term), pos, source[static_cast<size_t>(b)],
                         source[static_cast<size_t>(e)], chain});
  };

  // 3. Terms.
  auto lease = impl_->stemmers->Acquire();
  sb_stemmer* stemmer = lease.get();
  std::string word;
  for (size_t i = 0; i < segs.size();) {
    const Segment& seg = segs[i];
    if (seg.kind == SegKind::kCjk) {
      size_t j = i;
      while (j < segs.size() && segs[j].kind == SegKind::kCjk) ++j;
      // Code points of the run with their UTF-16 offsets.
      std::vector<int32_t> starts;  // UTF-16 offset of each code point, plus the run end
      const int32_t run_begin = segs[i].begin, run_end = segs[j - 1].end;
      for (int32_t k = run_begin; k < run_end;) {
        starts.push_back(k);
        U16_FWD_1(f, k, run_end);
      }
      starts.push_back(run_end);
      const size_t n = starts.size() - 1;
      if (n == 1) {
        word.clear();
        AppendUtf8(word, f + run_begin, run_end - run_begin);
        emit(word, position, run_begin, run_end, true);
        position += 1;
      } else {
        for (size_t c = 0; c + 1 < n; ++c) {
          word.clear();
          AppendUtf8(word, f + starts[c], starts[c + 2] - starts[c]);
          emit(word, position + static_cast<uint32_t>(c), starts[c], starts[c + 2], true);
        }
        // Dictionary words of the run: single characters and words longer than a bigram.
        size_t cp_index = 0;
        for (size_t s = i; s < j; ++s) {
          while (starts[cp_index] < segs[s].begin) ++cp_index;
          size_t m = 0;
          while (starts[cp_index + m] < segs[s].end) ++m;
          if (m == 1 || m >= 3) {
            word.clear();
            AppendUtf8(word, f + segs[s].begin, segs[s].end - segs[s].begin);
            const uint32_t pos = position + static_cast<uint32_t>(std::min(cp_index, n - 2));
            emit(word, pos, segs[s].begin, segs[s].end, false);
          }
        }
        position += static_cast<uint32_t>(n - 1);
      }
      i = j;
      continue;
    }
    if (seg.kind == SegKind::kNone) {
      ++i;
      continue;
    }
    // A word, possibly the first part of a code such as "ppr-9087".
    size_t last = i;
    while (last + 2 < segs.size() && segs[last + 1].kind == SegKind::kNone &&
           segs[last + 1].end - segs[last + 1].begin == 1 && IsConnector(f[segs[last + 1].begin]) &&
           segs[last + 2].kind == SegKind::kWord) {
      last += 2;
    }
    const uint32_t first_position = position;
    for (size_t s = i; s <= last; s += 2) {
      word.clear();
      AppendUtf8(word, f + segs[s].begin, segs[s].end - segs[s].begin);
      if (impl_->options.drop_stop_words && IsEnglishStopWord(word)) {
        ++position;
        continue;
      }
      const bool ascii_letters = std::all_of(word.begin(), word.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '\'';
      });
      if (impl_->options.stem_english && ascii_letters && word.size() > 2) {
        const sb_symbol* stem = sb_stemmer_stem(stemmer, reinterpret_cast<const sb_symbol*>(word.data()),
                                                static_cast<int>(word.size()));
        if (stem != nullptr) {
          word.assign(reinterpret_cast<const char*>(stem), static_cast<size_t>(sb_stemmer_length(stemmer)));
        }
      }
      emit(word, position, segs[s].begin, segs[s].end, true);
      ++position;
    }
    if (last > i) {
      word.clear();
      AppendUtf8(word, f + segs[i].begin, segs[last].end - segs[i].begin);
      emit(word, first_position, segs[i].begin, segs[last].end, false);
    }
    i = last + 1;
  }
  return position;
}

}  // namespace dv::kb
