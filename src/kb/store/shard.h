// A shard: the documents, chunks and ingestion jobs of one department (or one owner of personal
// KBs), in its own SQLite database <data_dir>/kb/shards/<name>/shard.db next to its index files.
// A shard can be backed up, moved or erased on its own.
//
// The database is the source of truth. The lexical index (index/lexical_index.h) follows it
// through the `index_dirty` table: every transaction that adds or removes chunks records their
// ids there; whoever applies them to the index clears them only after the index has committed.
// So a crash at any point leaves the index behind, never ahead, and RecoverIndex() catches up.
//
// Thread safety: one connection; use from one thread at a time (open one Shard per thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepvault/status.h"
#include "kb/store/sqlite.h"

namespace dv::kb {

enum class JobState { kQueued, kExtracting, kChunking, kIndexing, kDone, kFailed };
std::string_view JobStateName(JobState state);
Result<JobState> ParseJobState(std::string_view name);

struct DocumentRecord {
  int64_t id = 0;
  int64_t kb_id = 0;
  std::string source;     // absolute file path, or "<parent source>#<attachment>", or a record id
  std::string title;
  std::string mime_type;
  std::string doc_type;   // short type name: "markdown", "pdf", "text", ...
  std::string sha256;     // hex digest of the source bytes
  int64_t size_bytes = 0;
  std::string tags;       // comma-separated, lower-case
  std::string doc_date;   // "YYYY-MM-DD" or empty
  int64_t parent_id = 0;  // the message an attachment came from; 0 for none
  int64_t chunk_count = 0;
  int64_t updated_at = 0;
};

struct ChunkRecord {
  int64_t id = 0;
  int64_t doc_id = 0;
  int ordinal = 0;           // position of the chunk in its document, from 0
  std::string heading_path;  // "Title > Chapter > Section"
  int page = 0;
  int64_t char_start = 0;    // code point offsets into the document's text (blocks joined by '\n')
  int64_t char_end = 0;
  std::string text;
};

struct JobRecord {
  int64_t id = 0;
  int64_t kb_id = 0;
  std::string source;
  JobState state = JobState::kQueued;
  double progress = 0;
  std::string error;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

class Shard {
 public:
  // Opens or creates the shard database at `db_path` and migrates it.
  static Result<Shard> Open(const std::string& db_path);

  // --- documents and chunks -------------------------------------------------------------------
  // The document of `kb_id` with `source`, or NotFound.
  Result<DocumentRecord> FindDocument(int64_t kb_id, const std::string& source);
  Result<std::vector<DocumentRecord>> ListDocuments(int64_t kb_id);
  // Inserts the document or replaces the one with the same (kb_id, source): the old chunks are
  // deleted and `chunks` inserted in the same transaction (the caller opens it). Chunk ids of
  // both are recorded as index-dirty. Returns the document id and fills chunks[i].id.
  Result<int64_t> PutDocument(const DocumentRecord& doc, std::vector<ChunkRecord>& chunks);
  // Deletes a document, its chunks and its attachments' documents; dirty-marks their chunks.
  Status DeleteDocument(int64_t doc_id);
  // Deletes every document of a KB (and its jobs).
  Status DeleteKbContents(int64_t kb_id);
  Result<std::vector<ChunkRecord>> GetChunks(const std::vector<int64_t>& chunk_ids);
  Result<DocumentRecord> GetDocument(int64_t doc_id);
  Result<int64_t> CountChunks(int64_t kb_id);

  // --- index bookkeeping ----------------------------------------------------------------------
  // Chunk ids waiting to be applied to the index with a sequence number above `after_seq`,
  // oldest first; `max_seq` receives the highest sequence number returned (or `after_seq`).
  Result<std::vector<int64_t>> DirtyChunks(int64_t* max_seq, int64_t after_seq = 0);
  Status ClearDirty(int64_t max_seq);

  // --- jobs -----------------------------------------------------------------------------------
  // Queues a job for (kb_id, source) unless an unfinished one exists; returns its id.
  Result<int64_t> QueueJob(int64_t kb_id, const std::string& source);
  Status UpdateJob(int64_t job_id, JobState state, double progress, const std::string& error);
  // Jobs not done and not failed, oldest first.
  Result<std::vector<JobRecord>> UnfinishedJobs(int64_t kb_id);
  Result<std::vector<JobRecord>> ListJobs(int64_t kb_id, int limit);

  // --- metadata -------------------------------------------------------------------------------
  Result<std::string> GetMeta(const std::string& key);  // "" when absent
  Status SetMeta(const std::string& key, const std::string& value);

  sql::Database& db() { return db_; }
  static constexpr int kSchemaVersion = 1;

 private:
  explicit Shard(sql::Database db) : db_(std::move(db)) {}
  Status MarkDocChunksDirty(int64_t doc_id);
  sql::Database db_;
};

const sql::Migration* ShardMigrations(size_t* count);

}  // namespace dv::kb
