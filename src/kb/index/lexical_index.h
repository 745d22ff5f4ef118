// The persistent inverted index of one shard: Xapian databases (<shard>/lexical/part0 …) holding
// one Xapian document per chunk, with positions for phrase queries and BM25 ranking (bm25.h).
//
// Partitions: chunk c is stored in part (c - 1) mod N, so the N parts can be written by N threads
// at once; searches read the parts combined (Xapian::Database::add_database), where Xapian's
// docid of every chunk is its chunk id and collection statistics are those of the whole index,
// so scores are exactly those of a single database. N is fixed when the index is created (an
// index written before partitioning, one database in <shard>/lexical itself, reads as N = 1).
//
// Terms of a chunk: its body terms (analyzer.h), with positions for the chain terms phrases are
// built from, and its title/heading terms with a within-document frequency multiplied by
// `title_boost` and no positions (phrases match body text only). Boolean filter terms: "K<kb id>", "T<doc type>", "G<tag>", "D<doc id>";
// value slot 0 holds the document date as "YYYYMMDD".
//
// Building a chunk's Xapian document (IndexDocument: sorting its terms, encoding positions) needs
// no database, so the ingestion workers do it in parallel (Build) and the writer only hands
// finished documents to Xapian (PutAll).
//
// Thread safety: a writable index has one writer (Xapian takes an exclusive lock on each part; a
// second writer gets Unavailable); PutAll uses one internal thread per part. Build() is const,
// touches no database and may be called from any number of threads while the writer works.
// Read-only handles may be opened by many threads and processes; each handle is used by one
// thread at a time.
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

// A chunk's index document, built off the writer thread. Move-only; owned by one thread at a time.
class IndexDocument {
 public:
  IndexDocument();
  ~IndexDocument();
  IndexDocument(IndexDocument&&) noexcept;
  IndexDocument& operator=(IndexDocument&&) noexcept;

 private:
  friend class LexicalIndex;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class LexicalIndex {
 public:
  static constexpr int kDefaultParts = 2;

  // Opens (creating with `new_parts` parts when absent) the index in `dir` for writing.
  // Unavailable when another process holds the write lock.
  static Result<std::unique_ptr<LexicalIndex>> OpenWritable(const std::string& dir, int title_boost = 3,
                                                            int new_parts = kDefaultParts);
  // Opens an existing index for reading; an absent index reads as empty.
  static Result<std::unique_ptr<LexicalIndex>> OpenReadOnly(const std::string& dir);
  ~LexicalIndex();

  // The index document of `chunk` (everything but its chunk and document ids, which the writer
  // knows only once the chunk is stored). Thread-safe; touches no database.
  Result<IndexDocument> Build(const IndexedChunk& chunk) const;
  // A built document waiting to be stored as chunk `chunk_id` of document `doc_id`.
  struct Pending {
    int64_t chunk_id;
    int64_t doc_id;
    IndexDocument* doc;  // consumed by PutAll
  };
  // Queues the documents of `puts` for adding or replacing (consuming the built documents) and
  // returns; each part's thread applies its queue in order. Errors of queued work are reported
  // by the next Commit() (or read). REQUIRES: writable, each `doc` from Build() of this index.
  Status PutAll(std::vector<Pending>& puts);
  // Adds or replaces the document of `chunk.chunk_id` (Build + PutAll of one).
  Status Put(const IndexedChunk& chunk);
  // Queues the removal of the chunk; absent chunks are ignored. REQUIRES: writable.
  Status Remove(int64_t chunk_id);
  // Waits for the queued changes and commits every part (in parallel): everything since the
  // last commit becomes durable and visible. REQUIRES: writable.
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
