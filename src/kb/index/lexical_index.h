// The persistent inverted index of one shard: a Xapian database (<shard>/lexical/) holding one
// Xapian document per chunk (Xapian docid = chunk id), with positions for phrase queries and BM25
// ranking (bm25.h).
//
// Terms of a chunk: its body terms (analyzer.h), with positions for the chain terms phrases are
// built from, and its title/heading terms with a within-document frequency multiplied by
// `title_boost` and no positions (phrases match body text only). Boolean filter terms: "K<kb id>", "T<doc type>", "G<tag>", "D<doc id>";
// value slot 0 holds the document date as "YYYYMMDD".
//
// Thread safety: a writable index has one writer (Xapian takes an exclusive lock on the
// directory; a second writer gets Unavailable). Read-only handles may be opened by many threads
// and processes; each handle is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "kb/analysis/analyzer.h"

namespace dv::kb {

struct IndexedChunk {
  int64_t chunk_id = 0;
  int64_t doc_id = 0;
  int64_t kb_id = 0;
  std::string doc_type;
  std::vector<std::string> tags;
  std::string date;                 // "YYYY-MM-DD" or empty
  std::vector<Token> title_tokens;  // document title + heading path
  std::vector<Token> body_tokens;
};

struct PhraseTerm {
  std::string term;
  uint32_t position;
};

struct LexicalQuery {
  // Terms ORed together; a term given twice counts twice.
  std::vector<std::string> terms;
  // Every phrase must match (terms at the given relative positions, in order).
  std::vector<std::vector<PhraseTerm>> phrases;
  int64_t kb_id = 0;                    // 0: any KB of the shard
  std::vector<std::string> doc_types;   // any of these; empty = all
  std::vector<std::string> tags;        // any of these; empty = all
  std::string date_from, date_to;       // "YYYY-MM-DD", inclusive; empty = open
  double k1 = 1.2;
  double b = 0.75;
};

struct LexicalHit {
  int64_t chunk_id;
  double score;
};

class LexicalIndex {
 public:
  // Opens (creating when absent) the index in `dir` for writing. Unavailable when another
  // process holds the write lock.
  static Result<std::unique_ptr<LexicalIndex>> OpenWritable(const std::string& dir, int title_boost = 3);
  // Opens an existing index for reading; an absent index reads as empty.
  static Result<std::unique_ptr<LexicalIndex>> OpenReadOnly(const std::string& dir);
  ~LexicalIndex();

  // Adds or replaces the document of `chunk.chunk_id`. REQUIRES: writable.
  Status Put(const IndexedChunk& chunk);
  // Removes the chunk; absent chunks are ignored. REQUIRES: writable.
  Status Remove(int64_t chunk_id);
  // Makes everything since the last commit durable and visible. REQUIRES: writable.
  Status Commit();

  // The best `k` chunks for `query`, best first (ties by ascending chunk id).
  Result<std::vector<LexicalHit>> Search(const LexicalQuery& query, size_t k);
  // Re-reads the latest committed revision (read-only handles).
  Status Reopen();

  Result<uint64_t> DocumentCount();
  // All chunk ids in the index (for consistency checks), ascending.
  Result<std::vector<int64_t>> AllChunkIds();
  // Number of index documents whose terms include `term` (for tests and diagnostics).
  Result<uint64_t> TermFrequency(const std::string& term);

 private:
  struct Impl;
  explicit LexicalIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dv::kb
