// Searching one shard: query parsing, BM25 retrieval through the lexical index, filters, and
// highlighted snippets read back from the shard database.
//
// Query syntax: words are ORed and ranked by BM25; "double-quoted text" is a phrase that must
// occur (its words also count for ranking). Chinese, English, traditional/simplified and
// full/half-width forms are analysed exactly as documents are (analyzer.h).
//
// Thread safety: a Searcher is used by one thread at a time; open one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "deepvault/status.h"
#include "kb/analysis/analyzer.h"
#include "kb/index/lexical_index.h"
#include "kb/store/shard.h"

namespace dv::kb {

struct SearchRequest {
  std::string query;
  size_t k = 10;
  std::vector<std::string> doc_types;  // "markdown", "pdf", ...; empty = all
  std::vector<std::string> tags;       // any of; empty = all
  std::string date_from, date_to;      // "YYYY-MM-DD", inclusive
  double k1 = 1.2;
  double b = 0.75;
  size_t snippet_chars = 120;  // code points of context in a snippet
};

struct SearchHit {
  int64_t chunk_id = 0;
  int64_t doc_id = 0;
  double score = 0;
  std::string source;
  std::string title;
  std::string doc_type;
  std::string heading_path;
  int page = 0;
  int64_t char_start = 0;
  int64_t char_end = 0;
  std::string snippet;                              // plain text, valid UTF-8
  std::vector<std::pair<size_t, size_t>> highlights;  // byte ranges of matched terms in snippet
};

// Checks a request coming from outside (CLI, HTTP): sizes, dates, BM25 parameters.
Status ValidateSearchRequest(const SearchRequest& request);

// Parses `text` into index terms and phrases (filters and BM25 parameters left at defaults).
LexicalQuery ParseQuery(const Analyzer& analyzer, std::string_view text);

// Picks a window of about `context_chars` code points of `text` around the densest cluster of
// `terms`, and the byte ranges of those terms inside it.
std::pair<std::string, std::vector<std::pair<size_t, size_t>>> MakeSnippet(
    const Analyzer& analyzer, const std::string& text, const std::vector<std::string>& terms,
    size_t context_chars);

class Searcher {
 public:
  // Opens the shard in `shard_dir` for reading. `analyzer` must outlive the searcher.
  static Result<std::unique_ptr<Searcher>> Open(const std::string& shard_dir, const Analyzer* analyzer);

  // The best request.k chunks of KB `kb_id`, best first.
  Result<std::vector<SearchHit>> Search(int64_t kb_id, const SearchRequest& request);
  // Lower level: chunk ids and scores only (no database reads); used by evaluation.
  Result<std::vector<LexicalHit>> SearchChunks(int64_t kb_id, const SearchRequest& request, size_t k);

  Shard& shard() { return shard_; }
  LexicalIndex& index() { return *index_; }

 private:
  Searcher(Shard shard, std::unique_ptr<LexicalIndex> index, const Analyzer* analyzer)
      : shard_(std::move(shard)), index_(std::move(index)), analyzer_(analyzer) {}
  Shard shard_;
  std::unique_ptr<LexicalIndex> index_;
  const Analyzer* analyzer_;
};

}  // namespace dv::kb
