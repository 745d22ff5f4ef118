#include "kb/store/shard.h"

#include <ctime>

namespace dv::kb {

namespace {

const sql::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kb_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  title TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  doc_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  tags TEXT NOT NULL DEFAULT '',
  doc_date TEXT NOT NULL DEFAULT '',
  parent_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
  chunk_count INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (kb_id, source)
);
CREATE INDEX documents_parent ON documents(parent_id);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  heading_path TEXT NOT NULL,
  page INTEGER NOT NULL,
  char_start INTEGER NOT NULL,
  char_end INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE index_dirty (seq INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id INTEGER NOT NULL);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kb_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued','extracting','chunking','indexing','done','failed')),
  progress REAL NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_open ON jobs(kb_id, state);
)sql"},
};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

constexpr const char* kDocColumns =
    "id, kb_id, source, title, mime_type, doc_type, sha256, size_bytes, tags, doc_date, "
    "coalesce(parent_id, 0), chunk_count, updated_at";

DocumentRecord ReadDocument(const sql::Statement& st) {
  DocumentRecord d;
  d.id = st.ColumnInt(0);
  d.kb_id = st.ColumnInt(1);
  d.source = st.ColumnText(2);
  d.title = st.ColumnText(3);
  d.mime_type = st.ColumnText(4);
  d.doc_type = st.ColumnText(5);
  d.sha256 = st.ColumnText(6);
  d.size_bytes = st.ColumnInt(7);
  d.tags = st.ColumnText(8);
  d.doc_date = st.ColumnText(9);
  d.parent_id = st.ColumnInt(10);
  d.chunk_count = st.ColumnInt(11);
  d.updated_at = st.ColumnInt(12);
  return d;
}

Result<JobRecord> ReadJob(const sql::Statement& st) {
  JobRecord j;
  j.id = st.ColumnInt(0);
  j.kb_id = st.ColumnInt(1);
  j.source = st.ColumnText(2);
  DV_ASSIGN_OR_RETURN(j.state, ParseJobState(st.ColumnText(3)));
  j.progress = st.ColumnDouble(4);
  j.error = st.ColumnText(5);
  j.created_at = st.ColumnInt(6);
  j.updated_at = st.ColumnInt(7);
  return j;
}

// Every row of a statement selecting kJobColumns.
Result<std::vector<JobRecord>> ReadJobs(sql::Statement& st) {
  std::vector<JobRecord> out;
  for (;;) {
    DV_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DV_ASSIGN_OR_RETURN(JobRecord j, ReadJob(st));
    out.push_back(std::move(j));
  }
  return out;
}

constexpr const char* kJobColumns =
    "id, kb_id, source, state, progress, error, created_at, updated_at";

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kExtracting: return "extracting";
    case JobState::kChunking: return "chunking";
    case JobState::kIndexing: return "indexing";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
  }
  return "unknown";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (JobState s : {JobState::kQueued, JobState::kExtracting, JobState::kChunking,
                     JobState::kIndexing, JobState::kDone, JobState::kFailed}) {
    if (JobStateName(s) == name) return s;
  }
  return DataLoss("unknown job state \"" + std::string(name) + "\" in shard database");
}

const sql::Migration* ShardMigrations(size_t* count) {
  *count = sizeof(kMigrations) / sizeof(kMigrations[0]);
  return kMigrations;
}

Result<Shard> Shard::Open(const std::string& db_path) {
  DV_ASSIGN_OR_RETURN(sql::Database db, sql::Database::Open(db_path));
  size_t count = 0;
  const sql::Migration* migrations = ShardMigrations(&count);
  DV_RETURN_IF_ERROR(sql::Migrate(db, migrations, count, "shard"));
  return Shard(std::move(db));
}

Result<DocumentRecord> Shard::FindDocument(int64_t kb_id, const std::string& source) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string("SELECT ") + kDocColumns +
                                                     " FROM documents WHERE kb_id = ? AND source = ?"));
  st.Bind(1, kb_id).Bind(2, source);
  DV_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("no document " + source);
  return ReadDocument(st);
}

Result<DocumentRecord> Shard::GetDocument(int64_t doc_id) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string("SELECT ") + kDocColumns +
                                                     " FROM documents WHERE id = ?"));
  st.Bind(1, doc_id);
  DV_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("no document with id " + std::to_string(doc_id));
  return ReadDocument(st);
}

Result<std::vector<DocumentRecord>> Shard::ListDocuments(int64_t kb_id) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string("SELECT ") + kDocColumns +
                                                     " FROM documents WHERE kb_id = ? ORDER BY source"));
  st.Bind(1, kb_id);
  std::vector<DocumentRecord> out;
  for (;;) {
    DV_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadDocument(st));
  }
  return out;
}

Status Shard::MarkDocChunksDirty(int64_t doc_id) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(
      "INSERT INTO index_dirty (chunk_id) SELECT id FROM chunks WHERE doc_id IN "
      "(SELECT id FROM documents WHERE id = ?1 OR parent_id = ?1)"));
  return st.Bind(1, doc_id).Run();
}

Result<int64_t> Shard::PutDocument(const DocumentRecord& doc, std::vector<ChunkRecord>& chunks) {
  int64_t doc_id = 0;
  {
    auto existing = FindDocument(doc.kb_id, doc.source);
    if (existing.ok()) {
      doc_id = existing->id;
      DV_RETURN_IF_ERROR(MarkDocChunksDirty(doc_id));
      DV_ASSIGN_OR_RETURN(sql::Statement del, db_.Prepare("DELETE FROM chunks WHERE doc_id = ?"));
      DV_RETURN_IF_ERROR(del.Bind(1, doc_id).Run());
      // Attachments of the old version go too; the new version re-adds its own.
      DV_ASSIGN_OR_RETURN(sql::Statement del_children, db_.Prepare("DELETE FROM documents WHERE parent_id = ?"));
      DV_RETURN_IF_ERROR(del_children.Bind(1, doc_id).Run());
      DV_ASSIGN_OR_RETURN(sql::Statement upd, db_.Prepare(
          "UPDATE documents SET title=?, mime_type=?, doc_type=?, sha256=?, size_bytes=?, tags=?, "
          "doc_date=?, parent_id=?, chunk_count=?, updated_at=? WHERE id=?"));
      upd.Bind(1, doc.title).Bind(2, doc.mime_type).Bind(3, doc.doc_type).Bind(4, doc.sha256)
          .Bind(5, doc.size_bytes).Bind(6, doc.tags).Bind(7, doc.doc_date);
      if (doc.parent_id != 0) upd.Bind(8, doc.parent_id); else upd.BindNull(8);
      upd.Bind(9, static_cast<int64_t>(chunks.size())).Bind(10, Now()).Bind(11, doc_id);
      DV_RETURN_IF_ERROR(upd.Run());
    } else if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    } else {
      DV_ASSIGN_OR_RETURN(sql::Statement ins, db_.Prepare(
          "INSERT INTO documents (kb_id, source, title, mime_type, doc_type, sha256, size_bytes, "
          "tags, doc_date, parent_id, chunk_count, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
      ins.Bind(1, doc.kb_id).Bind(2, doc.source).Bind(3, doc.title).Bind(4, doc.mime_type)
          .Bind(5, doc.doc_type).Bind(6, doc.sha256).Bind(7, doc.size_bytes).Bind(8, doc.tags)
          .Bind(9, doc.doc_date);
      if (doc.parent_id != 0) ins.Bind(10, doc.parent_id); else ins.BindNull(10);
      ins.Bind(11, static_cast<int64_t>(chunks.size())).Bind(12, Now());
      DV_RETURN_IF_ERROR(ins.Run());
      doc_id = db_.LastInsertRowId();
    }
  }
  DV_ASSIGN_OR_RETURN(sql::Statement ins, db_.Prepare(
      "INSERT INTO chunks (doc_id, ordinal, heading_path, page, char_start, char_end, text) "
      "VALUES (?,?,?,?,?,?,?)"));
  DV_ASSIGN_OR_RETURN(sql::Statement dirty, db_.Prepare("INSERT INTO index_dirty (chunk_id) VALUES (?)"));
  for (ChunkRecord& c : chunks) {
    c.doc_id = doc_id;
    ins.Bind(1, doc_id).Bind(2, c.ordinal).Bind(3, c.heading_path).Bind(4, c.page)
        .Bind(5, c.char_start).Bind(6, c.char_end).Bind(7, c.text);
    DV_RETURN_IF_ERROR(ins.Run());
    c.id = db_.LastInsertRowId();
    DV_RETURN_IF_ERROR(dirty.Bind(1, c.id).Run());
  }
  return doc_id;
}

Status Shard::DeleteDocument(int64_t doc_id) {
  DV_RETURN_IF_ERROR(MarkDocChunksDirty(doc_id));
  DV_ASSIGN_OR_RETURN(sql::Statement del, db_.Prepare("DELETE FROM documents WHERE id = ?"));
  return del.Bind(1, doc_id).Run();  // chunks and attachments cascade
}

Status Shard::DeleteKbContents(int64_t kb_id) {
  DV_ASSIGN_OR_RETURN(sql::Statement dirty, db_.Prepare(
      "INSERT INTO index_dirty (chunk_id) SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id "
      "WHERE d.kb_id = ?"));
  DV_RETURN_IF_ERROR(dirty.Bind(1, kb_id).Run());
  DV_ASSIGN_OR_RETURN(sql::Statement del, db_.Prepare("DELETE FROM documents WHERE kb_id = ?"));
  DV_RETURN_IF_ERROR(del.Bind(1, kb_id).Run());
  DV_ASSIGN_OR_RETURN(sql::Statement jobs, db_.Prepare("DELETE FROM jobs WHERE kb_id = ?"));
  return jobs.Bind(1, kb_id).Run();
}

Result<std::vector<ChunkRecord>> Shard::GetChunks(const std::vector<int64_t>& chunk_ids) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(
      "SELECT id, doc_id, ordinal, heading_path, page, char_start, char_end, text FROM chunks WHERE id = ?"));
  std::vector<ChunkRecord> out;
  out.reserve(chunk_ids.size());
  for (int64_t id : chunk_ids) {
    st.Bind(1, id);
    DV_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      ChunkRecord c;
      c.id = st.ColumnInt(0);
      c.doc_id = st.ColumnInt(1);
      c.ordinal = static_cast<int>(st.ColumnInt(2));
      c.heading_path = st.ColumnText(3);
      c.page = static_cast<int>(st.ColumnInt(4));
      c.char_start = st.ColumnInt(5);
      c.char_end = st.ColumnInt(6);
      c.text = st.ColumnText(7);
      out.push_back(std::move(c));
    }
    st.Reset();
  }
  return out;
}

Result<int64_t> Shard::CountChunks(int64_t kb_id) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(
      "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.kb_id = ?"));
  st.Bind(1, kb_id);
  DV_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt(0) : 0;
}

Result<std::vector<int64_t>> Shard::DirtyChunks(int64_t* max_seq, int64_t after_seq) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(
      "SELECT seq, chunk_id FROM index_dirty WHERE seq > ? ORDER BY seq"));
  st.Bind(1, after_seq);
  std::vector<int64_t> ids;
  *max_seq = after_seq;
  for (;;) {
    DV_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    *max_seq = st.ColumnInt(0);
    ids.push_back(st.ColumnInt(1));
  }
  return ids;
}

Status Shard::ClearDirty(int64_t max_seq) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare("DELETE FROM index_dirty WHERE seq <= ?"));
  return st.Bind(1, max_seq).Run();
}

Result<int64_t> Shard::QueueJob(int64_t kb_id, const std::string& source) {
  DV_ASSIGN_OR_RETURN(sql::Statement find, db_.Prepare(
      "SELECT id FROM jobs WHERE kb_id = ? AND source = ? AND state NOT IN ('done','failed')"));
  find.Bind(1, kb_id).Bind(2, source);
  DV_ASSIGN_OR_RETURN(bool row, find.Step());
  if (row) return find.ColumnInt(0);
  DV_ASSIGN_OR_RETURN(sql::Statement ins, db_.Prepare(
      "INSERT INTO jobs (kb_id, source, state, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)"));
  const int64_t now = Now();
  DV_RETURN_IF_ERROR(ins.Bind(1, kb_id).Bind(2, source).Bind(3, now).Bind(4, now).Run());
  return db_.LastInsertRowId();
}

Status Shard::UpdateJob(int64_t job_id, JobState state, double progress, const std::string& error) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(
      "UPDATE jobs SET state = ?, progress = ?, error = ?, updated_at = ? WHERE id = ?"));
  return st.Bind(1, JobStateName(state)).Bind(2, progress).Bind(3, error).Bind(4, Now()).Bind(5, job_id).Run();
}

Result<std::vector<JobRecord>> Shard::UnfinishedJobs(int64_t kb_id) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string("SELECT ") + kJobColumns +
      " FROM jobs WHERE kb_id = ? AND state NOT IN ('done','failed') ORDER BY id"));
  st.Bind(1, kb_id);
  return ReadJobs(st);
}

Result<std::vector<JobRecord>> Shard::ListJobs(int64_t kb_id, int limit) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(std::string("SELECT ") + kJobColumns +
      " FROM jobs WHERE kb_id = ? ORDER BY id DESC LIMIT ?"));
  st.Bind(1, kb_id).Bind(2, limit);
  return ReadJobs(st);
}

Result<std::string> Shard::GetMeta(const std::string& key) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare("SELECT value FROM meta WHERE key = ?"));
  st.Bind(1, key);
  DV_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnText(0) : std::string();
}

Status Shard::SetMeta(const std::string& key, const std::string& value) {
  DV_ASSIGN_OR_RETURN(sql::Statement st, db_.Prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  return st.Bind(1, key).Bind(2, value).Run();
}

}  // namespace dv::kb
