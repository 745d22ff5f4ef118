// The ingestion pipeline of one shard: persistent jobs, parallel extraction/analysis, batched
// atomic commits, and index catch-up after a crash.
//
// Flow of `AddFiles`: the files are queued as jobs (one row each, state "queued"), then every
// unfinished job of the KB — including those a killed process left behind — runs:
//   worker threads: read → SHA-256 → (unchanged? done) → extracting (parse) → chunking + analysis
//   writer thread:  one SQLite transaction per batch stores documents and chunks (a changed file
//                   replaces its chunks in that same transaction) and records the chunk ids as
//                   index-dirty; then the index applies and commits them; then a second
//                   transaction clears the dirty rows and marks the jobs done.
// A kill -9 anywhere leaves the database consistent (SQLite transactions) and the index at most
// behind it; ShardWriter::Open() replays the dirty rows, and the next AddFiles resumes the jobs.
//
// Thread safety: one ShardWriter per shard at a time (the index's write lock enforces it across
// processes); its methods are called from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "deepvault/status.h"
#include "kb/analysis/analyzer.h"
#include "kb/index/lexical_index.h"
#include "kb/ingest/chunker.h"
#include "kb/parse/parser.h"
#include "kb/store/shard.h"

namespace dv::kb {

struct IngestProgress {
  size_t jobs_done = 0;
  size_t jobs_total = 0;
  uint64_t bytes_done = 0;
  std::string last_source;
};

struct IngestOptions {
  ChunkerOptions chunker;
  ParseOptions parse;
  int threads = 2;                // extraction/analysis workers
  std::vector<std::string> tags;  // normalised (NormalizeTags)
  size_t batch_documents = 64;    // documents per database transaction at most
  // The index is committed (and jobs marked done) once this many chunks were applied since the
  // last commit, or this long after it, and at the end. In between, chunks are in the database
  // and recorded as index-dirty, so a crash loses no work. Every commit flushes Xapian's
  // in-memory postings into its B-trees, rewriting the tail of each touched posting list, so
  // committing by volume (not by time alone) keeps the indexing CPU independent of the
  // machine's load.
  size_t index_commit_chunks = 500;
  int index_commit_interval_ms = 30000;
  // Called on the calling thread after every commit.
  std::function<void(const IngestProgress&)> on_progress;
};

struct IngestStats {
  size_t jobs = 0;
  size_t added = 0;
  size_t updated = 0;
  size_t unchanged = 0;
  size_t failed = 0;
  size_t attachments = 0;
  size_t chunks = 0;
  uint64_t bytes = 0;  // bytes of the sources read
  std::vector<std::string> errors;  // "source: problem"
};

class ShardWriter {
 public:
  // Opens the shard in `shard_dir` (created when absent) for writing: takes the index's write
  // lock, migrates the database, rebuilds the index when the analyzer version changed, and
  // applies index work a crash left behind. `analyzer` must outlive the writer.
  static Result<std::unique_ptr<ShardWriter>> Open(const std::string& shard_dir, const Analyzer* analyzer);
  ~ShardWriter();

  // Queues `paths` (files; folders recursively, hidden entries skipped, symlinks not followed)
  // for KB `kb_id` and runs every unfinished job of that KB.
  Result<IngestStats> AddFiles(int64_t kb_id, const std::vector<std::string>& paths, const IngestOptions& options);
  // Ingests already-parsed documents (no jobs): `docs` = (source id, document).
  Result<IngestStats> AddParsed(int64_t kb_id, std::vector<std::pair<std::string, ParsedDocument>> docs,
                                const IngestOptions& options);
  // Removes one document (by source path or source id) with its attachments from every index.
  Status RemoveDocument(int64_t kb_id, const std::string& source);
  Status RemoveKb(int64_t kb_id);
  // Applies chunk ids recorded as index-dirty to the index.
  Status RecoverIndex();

  Shard& shard() { return shard_; }
  LexicalIndex& index() { return *index_; }

 private:
  struct Work;
  // A stored chunk whose index document a worker has built.
  struct ReadyChunk {
    int64_t doc_id;
    IndexDocument* doc;
  };
  ShardWriter(Shard shard, std::unique_ptr<LexicalIndex> index, const Analyzer* analyzer)
      : shard_(std::move(shard)), index_(std::move(index)), analyzer_(analyzer) {}
  Result<IngestStats> Run(int64_t kb_id, std::vector<Work>& work, const IngestOptions& options);
  // Applies the dirty rows with a sequence number above `after_seq` to the index without
  // committing it, using (and consuming) `prepared` (chunk id → built document) where available
  // and re-analysing the other chunks from the database; returns the highest sequence number
  // applied.
  Result<int64_t> ApplyDirty(std::unordered_map<int64_t, ReadyChunk>& prepared, int64_t after_seq);

  Shard shard_;
  std::unique_ptr<LexicalIndex> index_;
  const Analyzer* analyzer_;
};

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);
// Shard directory layout.
std::string ShardDbPath(const std::string& shard_dir);
std::string ShardIndexPath(const std::string& shard_dir);

}  // namespace dv::kb
