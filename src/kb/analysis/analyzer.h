// Text analysis shared by indexing and querying: the same function turns document text and query
// text into index terms, so both sides always agree.
//
// Pipeline, per code point (offsets into the original text are kept):
//   1. fold: NFKC case-fold (full-width → half-width, upper → lower, compatibility forms), then
//      traditional → simplified Chinese through OpenCC's t2s tables (character level, built once
//      at Create() from the installed OpenCC data).
//   2. segment: ICU word break iterator (zh locale; dictionary segmentation for Chinese).
//   3. terms:
//      - a Chinese/Japanese run of n ideographs gives its character bigrams (positions p..p+n-2),
//        the dictionary words of >= 3 characters and single-character dictionary words; a lone
//        ideograph gives its unigram. Bigrams make rare names and codes ("三码") findable even
//        when the dictionary does not know them.
//      - other words are lower-cased, English stop words dropped, ASCII words stemmed with the
//        Snowball English stemmer; a code such as "PPR-9087" or "v1.2" also gives its whole
//        folded form "ppr-9087" as one term.
//
// Positions advance by one per Latin word (stop words included, so phrases keep their gaps) and
// by max(1, n-1) per ideograph run, so the "chain" of word terms and bigrams of a phrase sits at
// consecutive positions in both documents and queries.
//
// Thread safety: Analyze() is const and may be called from many threads at once (ICU iterators
// and stemmers are taken from an internal pool).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"

namespace dv::kb {

struct AnalyzerOptions {
  // OpenCC configuration for traditional → simplified folding; empty disables the folding.
  std::string opencc_config = "/usr/share/opencc/t2s.json";
  bool stem_english = true;
  bool drop_stop_words = true;
};

struct Token {
  std::string term;
  uint32_t position = 0;
  uint32_t begin = 0;  // byte offsets of the source text that produced the term
  uint32_t end = 0;
  bool chain = true;  // part of the consecutive chain used for phrase queries (bigrams, words)
};

class Analyzer {
 public:
  // Fails with a clear error when ICU's word iterator, the stemmer or the OpenCC configuration
  // cannot be loaded.
  static Result<std::unique_ptr<Analyzer>> Create(const AnalyzerOptions& options = {});
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // Appends the terms of `text` to `out`; positions start at `first_position`. Returns the next
  // free position. Invalid UTF-8 is analysed as U+FFFD (which produces no term).
  uint32_t Analyze(std::string_view text, std::vector<Token>* out, uint32_t first_position = 0) const;

  // Convenience: the terms only.
  std::vector<std::string> Terms(std::string_view text) const;

  // Folds one code point as step 1 above (exposed for tests and snippet matching).
  char32_t Fold(char32_t cp) const;

  // Bumped whenever analysis output changes; stored with every index so old indexes get rebuilt.
  static constexpr int kVersion = 1;

 private:
  struct Impl;
  explicit Analyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for the English stop words dropped by the analyzer (input already lower-case).
bool IsEnglishStopWord(std::string_view word);

}  // namespace dv::kb
