#include "kb/ingest/pipeline.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/utf8.h"
#include "kb/ingest/prepare.h"

namespace dv::kb {

namespace fs = std::filesystem;

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string ShardDbPath(const std::string& dir) { return (fs::path(dir) / "shard.db").string(); }
std::string ShardIndexPath(const std::string& dir) { return (fs::path(dir) / "lexical").string(); }

namespace {

constexpr const char* kAnalyzerMetaKey = "analyzer_version";

std::string FileDate(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  std::time_t t = st.st_mtime;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

Result<std::string> ReadWholeFile(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (ec || !fs::exists(status)) return NotFound("file not found");
  if (!fs::is_regular_file(status)) return InvalidArgument("not a regular file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return Internal("cannot read the file size: " + ec.message());
  if (size > max_bytes) {
    return ResourceExhausted("file is " + std::to_string(size) + " bytes, above the limit of " +
                             std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return PermissionDenied("cannot open the file for reading");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) return DataLoss("file changed size while being read");
  return bytes;
}

}  // namespace

// One unit of work and, once processed, its outcome.
struct ShardWriter::Work {
  int64_t job_id = 0;  // 0: not tracked as a job
  std::string source;
  std::optional<ParsedDocument> parsed;  // AddParsed input

  enum class Outcome { kPending, kUnchanged, kPrepared, kFailed } outcome = Outcome::kPending;
  bool existed = false;
  uint64_t bytes = 0;
  std::string error;
  std::vector<PreparedDocument> docs;  // [0] the document, then its attachments
};

Result<std::unique_ptr<ShardWriter>> ShardWriter::Open(const std::string& dir, const Analyzer* analyzer) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return PermissionDenied("cannot create shard directory " + dir + ": " + ec.message());
  DV_ASSIGN_OR_RETURN(std::unique_ptr<LexicalIndex> index, LexicalIndex::OpenWritable(ShardIndexPath(dir)));
  DV_ASSIGN_OR_RETURN(Shard shard, Shard::Open(ShardDbPath(dir)));
  std::unique_ptr<ShardWriter> writer(new ShardWriter(std::move(shard), std::move(index), analyzer));
  DV_ASSIGN_OR_RETURN(std::string version, writer->shard_.GetMeta(kAnalyzerMetaKey));
  const std::string current = std::to_string(Analyzer::kVersion);
  if (version != current) {
    // Analysis changed (or a new shard): re-index every chunk from the database.
    DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(writer->shard_.db()));
    DV_RETURN_IF_ERROR(writer->shard_.db().Exec("INSERT INTO index_dirty (chunk_id) SELECT id FROM chunks"));
    DV_RETURN_IF_ERROR(writer->shard_.SetMeta(kAnalyzerMetaKey, current));
    DV_RETURN_IF_ERROR(txn.Commit());
  }
  DV_RETURN_IF_ERROR(writer->RecoverIndex());
  return writer;
}

ShardWriter::~ShardWriter() = default;

Result<int64_t> ShardWriter::ApplyDirty(std::unordered_map<int64_t, ReadyChunk>& prepared, int64_t after_seq) {
  int64_t max_seq = after_seq;
  DV_ASSIGN_OR_RETURN(std::vector<int64_t> dirty, shard_.DirtyChunks(&max_seq, after_seq));
  if (dirty.empty()) return max_seq;
  std::vector<LexicalIndex::Pending> puts;
  std::vector<int64_t> unknown;
  std::set<int64_t> seen;
  for (int64_t id : dirty) {
    if (!seen.insert(id).second) continue;
    auto it = prepared.find(id);
    if (it != prepared.end()) {
      puts.push_back(LexicalIndex::Pending{id, it->second.doc_id, it->second.doc});
    } else {
      unknown.push_back(id);
    }
  }
  // Chunks not prepared by this run: re-analyse those that still exist, remove the others.
  DV_ASSIGN_OR_RETURN(std::vector<ChunkRecord> stored, shard_.GetChunks(unknown));
  std::unordered_map<int64_t, DocumentRecord> docs;
  std::set<int64_t> present;
  std::vector<IndexDocument> rebuilt;
  rebuilt.reserve(stored.size());  // stable addresses for `puts`
  for (const ChunkRecord& c : stored) {
    present.insert(c.id);
    auto it = docs.find(c.doc_id);
    if (it == docs.end()) {
      DV_ASSIGN_OR_RETURN(DocumentRecord d, shard_.GetDocument(c.doc_id));
      it = docs.emplace(c.doc_id, std::move(d)).first;
    }
    DV_ASSIGN_OR_RETURN(IndexDocument built, index_->Build(AnalyzeChunk(*analyzer_, it->second, c)));
    rebuilt.push_back(std::move(built));
    puts.push_back(LexicalIndex::Pending{c.id, c.doc_id, &rebuilt.back()});
  }
  DV_RETURN_IF_ERROR(index_->PutAll(puts));
  for (int64_t id : unknown) {
    if (!present.count(id)) DV_RETURN_IF_ERROR(index_->Remove(id));
  }
  return max_seq;
}

Status ShardWriter::RecoverIndex() {
  std::unordered_map<int64_t, ReadyChunk> none;
  DV_ASSIGN_OR_RETURN(int64_t max_seq, ApplyDirty(none, 0));
  if (max_seq == 0) return Status::Ok();
  DV_RETURN_IF_ERROR(index_->Commit());
  return shard_.ClearDirty(max_seq);
}

Result<IngestStats> ShardWriter::AddFiles(int64_t kb_id, const std::vector<std::string>& paths,
                                          const IngestOptions& options) {
  // Enumerate and queue.
  std::vector<std::string> sources;
  std::set<std::string> unique;
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::path path = fs::absolute(fs::path(p), ec).lexically_normal();
    const auto st = fs::symlink_status(path, ec);
    if (ec || !fs::exists(st)) return NotFound("no such file or folder: " + p);
    if (fs::is_directory(st)) {
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) return PermissionDenied("cannot list folder " + p + ": " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) return PermissionDenied("cannot list folder " + p + ": " + ec.message());
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
          std::string s = it->path().string();
          if (unique.insert(s).second) sources.push_back(std::move(s));
        }
      }
    } else if (fs::is_regular_file(st)) {
      std::string s = path.string();
      if (unique.insert(s).second) sources.push_back(std::move(s));
    } else {
      return InvalidArgument(p + " is neither a regular file nor a folder");
    }
  }
  std::sort(sources.begin(), sources.end());
  {
    DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(shard_.db()));
    for (const std::string& s : sources) DV_RETURN_IF_ERROR(shard_.QueueJob(kb_id, s).status());
    DV_RETURN_IF_ERROR(txn.Commit());
  }
  DV_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, shard_.UnfinishedJobs(kb_id));
  std::vector<Work> work(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    work[i].job_id = jobs[i].id;
    work[i].source = jobs[i].source;
  }
  return Run(kb_id, work, options);
}

Result<IngestStats> ShardWriter::AddParsed(int64_t kb_id, std::vector<std::pair<std::string, ParsedDocument>> docs,
                                           const IngestOptions& options) {
  std::vector<Work> work(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    work[i].source = std::move(docs[i].first);
    work[i].parsed = std::move(docs[i].second);
  }
  return Run(kb_id, work, options);
}

Result<IngestStats> ShardWriter::Run(int64_t kb_id, std::vector<Work>& work, const IngestOptions& options) {
  DV_RETURN_IF_ERROR(ValidateChunkerOptions(options.chunker));
  IngestStats stats;
  stats.jobs = work.size();
  if (work.empty()) return stats;

  // Hashes of what is stored, for the unchanged-file shortcut.
  std::unordered_map<std::string, std::string> stored_hash;
  {
    DV_ASSIGN_OR_RETURN(std::vector<DocumentRecord> existing, shard_.ListDocuments(kb_id));
    for (DocumentRecord& d : existing) stored_hash.emplace(std::move(d.source), std::move(d.sha256));
  }
  std::string joined_tags;
  for (const std::string& t : options.tags) joined_tags += (joined_tags.empty() ? "" : ",") + t;

  // Worker → writer hand-off.
  std::mutex mu;
  std::condition_variable ready_cv, space_cv;
  std::deque<size_t> finished;                        // indexes into `work`
  std::vector<std::pair<int64_t, JobState>> started;  // job state changes to record
  std::atomic<size_t> next{0};
  const size_t max_in_flight = std::max<size_t>(options.batch_documents * 2, 8);
  size_t in_flight = 0;

  auto process = [&](Work& w) {
    auto set_state = [&](JobState s) {
      if (w.job_id == 0) return;
      std::lock_guard<std::mutex> lock(mu);
      started.emplace_back(w.job_id, s);
    };
    DocumentRecord rec;
    rec.kb_id = kb_id;
    rec.source = w.source;
    rec.tags = joined_tags;
    auto it = stored_hash.find(w.source);
    w.existed = it != stored_hash.end();
    ParsedDocument parsed;
    if (w.parsed) {
      parsed = std::move(*w.parsed);
      w.parsed.reset();
      std::string content = parsed.title + '\n' + DocumentText(parsed);
      rec.sha256 = Sha256Hex(content);
      rec.size_bytes = static_cast<int64_t>(content.size());
      rec.doc_type = "text";
      if (w.existed && it->second == rec.sha256) {
        w.outcome = Work::Outcome::kUnchanged;
        return;
      }
    } else {
      auto bytes = ReadWholeFile(w.source, options.parse.max_input_bytes);
      if (!bytes.ok()) {
        w.outcome = Work::Outcome::kFailed;
        w.error = bytes.status().message();
        return;
      }
      w.bytes = bytes->size();
      rec.sha256 = Sha256Hex(*bytes);
      rec.size_bytes = static_cast<int64_t>(bytes->size());
      if (w.existed && it->second == rec.sha256) {
        w.outcome = Work::Outcome::kUnchanged;
        return;
      }
      set_state(JobState::kExtracting);
      const std::string name = fs::path(w.source).filename().string();
      const DocumentType type = DetectDocumentType(name, *bytes);
      auto doc = ParseDocumentAs(type, name, *bytes, options.parse);
      if (!doc.ok()) {
        w.outcome = Work::Outcome::kFailed;
        w.error = doc.status().Describe();
        return;
      }
      parsed = std::move(doc).value();
      rec.doc_type = std::string(DocumentTypeName(type));
      rec.mime_type = std::string(MimeTypeOf(type));
      set_state(JobState::kChunking);
      auto date = parsed.metadata.find("date");
      rec.doc_date = date != parsed.metadata.end() ? NormalizeDate(date->second) : "";
      if (rec.doc_date.empty()) rec.doc_date = FileDate(w.source);
    }
    if (rec.mime_type.empty()) rec.mime_type = parsed.mime_type.empty() ? "text/plain" : parsed.mime_type;
    const std::vector<Attachment> attachments = std::move(parsed.attachments);
    auto prepared = PrepareDocument(*analyzer_, *index_, options.chunker, rec, parsed);
    if (!prepared.ok()) {
      w.outcome = Work::Outcome::kFailed;
      w.error = prepared.status().message();
      w.docs.clear();
      return;
    }
    w.docs.push_back(std::move(prepared).value());
    // Attachments become documents of their own, linked to this one.
    for (size_t a = 0; a < attachments.size(); ++a) {
      const Attachment& att = attachments[a];
      ParseOptions nested = options.parse;
      nested.nesting_depth += 1;
      const DocumentType type = DetectDocumentType(att.file_name, att.bytes);
      auto doc = ParseDocumentAs(type, att.file_name, att.bytes, nested);
      if (!doc.ok()) {
        w.error += (w.error.empty() ? "" : "; ") + ("attachment " + att.file_name + ": " + doc.status().message());
        continue;
      }
      DocumentRecord arec;
      arec.kb_id = kb_id;
      arec.source = w.source + "#" + std::to_string(a + 1) + ":" + utf8::Sanitize(att.file_name);
      arec.sha256 = Sha256Hex(att.bytes);
      arec.size_bytes = static_cast<int64_t>(att.bytes.size());
      arec.tags = joined_tags;
      arec.doc_type = std::string(DocumentTypeName(type));
      arec.mime_type = std::string(MimeTypeOf(type));
      arec.doc_date = rec.doc_date;
      if (arec.title.empty()) arec.title = utf8::Sanitize(att.file_name);
      doc->attachments.clear();  // one level per document; deeper nesting is the parser's business
      auto prepared_attachment = PrepareDocument(*analyzer_, *index_, options.chunker, arec, *doc);
      if (!prepared_attachment.ok()) {
        w.error += (w.error.empty() ? "" : "; ") + ("attachment " + att.file_name + ": " +
                                                     prepared_attachment.status().message());
        continue;
      }
      w.docs.push_back(std::move(prepared_attachment).value());
    }
    w.outcome = Work::Outcome::kPrepared;
  };

  auto worker = [&] {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        space_cv.wait(lock, [&] { return in_flight < max_in_flight; });
        ++in_flight;
      }
      const size_t i = next.fetch_add(1);
      if (i >= work.size()) {
        std::lock_guard<std::mutex> lock(mu);
        --in_flight;
        space_cv.notify_all();
        return;
      }
      try {
        process(work[i]);
      } catch (const std::exception& e) {
        work[i].outcome = Work::Outcome::kFailed;
        work[i].error = std::string("internal error: ") + e.what();
        work[i].docs.clear();
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        finished.push_back(i);
      }
      ready_cv.notify_one();
    }
  };

  const int threads = std::clamp(options.threads, 1, 64);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  struct Joiner {
    std::vector<std::thread>& pool;
    ~Joiner() {
      for (auto& t : pool) {
        if (t.joinable()) t.join();
      }
    }
  } joiner{pool};

  size_t received = 0;
  IngestProgress progress;
  progress.jobs_total = work.size();
  // Applied to the index but not yet committed there: dirty rows up to applied_seq, and the jobs
  // to mark done once the index commit has happened.
  int64_t applied_seq = 0, committed_seq = 0;
  std::vector<std::pair<int64_t, std::string>> jobs_to_finish;  // (job, warning text)
  auto last_commit = std::chrono::steady_clock::now();
  size_t chunks_since_commit = 0;
  auto commit_index = [&]() -> Status {
    if (applied_seq == committed_seq && jobs_to_finish.empty()) return Status::Ok();
    DV_RETURN_IF_ERROR(index_->Commit());
    DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(shard_.db()));
    if (applied_seq > committed_seq) DV_RETURN_IF_ERROR(shard_.ClearDirty(applied_seq));
    for (const auto& [job, warning] : jobs_to_finish) {
      DV_RETURN_IF_ERROR(shard_.UpdateJob(job, JobState::kDone, 1.0, warning));
    }
    DV_RETURN_IF_ERROR(txn.Commit());
    committed_seq = applied_seq;
    jobs_to_finish.clear();
    last_commit = std::chrono::steady_clock::now();
    return Status::Ok();
  };
  while (received < work.size()) {
    std::vector<size_t> batch;
    std::vector<std::pair<int64_t, JobState>> states;
    {
      std::unique_lock<std::mutex> lock(mu);
      ready_cv.wait_for(lock, std::chrono::milliseconds(500), [&] {
        return finished.size() >= options.batch_documents || received + finished.size() == work.size();
      });
      while (!finished.empty() && batch.size() < options.batch_documents) {
        batch.push_back(finished.front());
        finished.pop_front();
      }
      states.swap(started);
      in_flight -= batch.size();
    }
    space_cv.notify_all();
    if (batch.empty() && states.empty()) continue;

    // 1. Store documents and chunks; record job states.
    std::unordered_map<int64_t, ReadyChunk> prepared;
    {
      DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(shard_.db()));
      for (const auto& [job, state] : states) DV_RETURN_IF_ERROR(shard_.UpdateJob(job, state, state == JobState::kExtracting ? 0.1 : 0.4, ""));
      for (size_t i : batch) {
        Work& w = work[i];
        if (w.outcome == Work::Outcome::kFailed) {
          if (w.job_id != 0) DV_RETURN_IF_ERROR(shard_.UpdateJob(w.job_id, JobState::kFailed, 1.0, w.error));
          continue;
        }
        if (w.outcome == Work::Outcome::kUnchanged) {
          if (w.job_id != 0) DV_RETURN_IF_ERROR(shard_.UpdateJob(w.job_id, JobState::kDone, 1.0, "unchanged"));
          continue;
        }
        int64_t parent = 0;
        for (size_t d = 0; d < w.docs.size(); ++d) {
          PreparedDocument& pd = w.docs[d];
          if (d > 0) pd.record.parent_id = parent;
          DV_ASSIGN_OR_RETURN(int64_t doc_id, shard_.PutDocument(pd.record, pd.chunks));
          if (d == 0) parent = doc_id;
          pd.record.id = doc_id;
          for (size_t c = 0; c < pd.chunks.size(); ++c) {
            prepared.emplace(pd.chunks[c].id, ReadyChunk{doc_id, &pd.index[c]});
          }
        }
        if (w.job_id != 0) DV_RETURN_IF_ERROR(shard_.UpdateJob(w.job_id, JobState::kIndexing, 0.8, w.error));
      }
      DV_RETURN_IF_ERROR(txn.Commit());
    }
    // 2. Apply to the index; 3. every few seconds (and at the end) commit the index, then clear
    // the dirty rows and finish the jobs in one more transaction.
    DV_ASSIGN_OR_RETURN(applied_seq, ApplyDirty(prepared, applied_seq));
    for (size_t i : batch) {
      const Work& w = work[i];
      if (w.outcome == Work::Outcome::kPrepared && w.job_id != 0) jobs_to_finish.emplace_back(w.job_id, w.error);
    }
    const auto since = std::chrono::steady_clock::now() - last_commit;
    chunks_since_commit += prepared.size();
    if (received + batch.size() == work.size() || chunks_since_commit >= options.index_commit_chunks ||
        since >= std::chrono::milliseconds(options.index_commit_interval_ms)) {
      chunks_since_commit = 0;
      DV_RETURN_IF_ERROR(commit_index());
    }
    for (size_t i : batch) {
      Work& w = work[i];
      stats.bytes += w.bytes;
      progress.bytes_done += w.bytes;
      switch (w.outcome) {
        case Work::Outcome::kFailed:
          ++stats.failed;
          stats.errors.push_back(w.source + ": " + w.error);
          break;
        case Work::Outcome::kUnchanged: ++stats.unchanged; break;
        case Work::Outcome::kPrepared:
          ++(w.existed ? stats.updated : stats.added);
          stats.attachments += w.docs.size() - 1;
          for (const PreparedDocument& pd : w.docs) stats.chunks += pd.chunks.size();
          if (!w.error.empty()) stats.errors.push_back(w.source + ": " + w.error);
          break;
        case Work::Outcome::kPending: break;
      }
      w.docs.clear();
      w.docs.shrink_to_fit();
      progress.last_source = w.source;
    }
    received += batch.size();
    progress.jobs_done = received;
    if (options.on_progress) options.on_progress(progress);
  }
  return stats;
}

Status ShardWriter::RemoveDocument(int64_t kb_id, const std::string& source) {
  auto doc = shard_.FindDocument(kb_id, source);
  if (!doc.ok() && doc.status().code() == StatusCode::kNotFound) {
    std::error_code ec;
    const std::string absolute = fs::absolute(fs::path(source), ec).lexically_normal().string();
    if (!ec) doc = shard_.FindDocument(kb_id, absolute);
  }
  if (!doc.ok()) {
    if (doc.status().code() == StatusCode::kNotFound) return NotFound("no document \"" + source + "\" in this knowledge base");
    return doc.status();
  }
  {
    DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(shard_.db()));
    DV_RETURN_IF_ERROR(shard_.DeleteDocument(doc->id));
    DV_RETURN_IF_ERROR(txn.Commit());
  }
  return RecoverIndex();
}

Status ShardWriter::RemoveKb(int64_t kb_id) {
  {
    DV_ASSIGN_OR_RETURN(sql::Transaction txn, sql::Transaction::Begin(shard_.db()));
    DV_RETURN_IF_ERROR(shard_.DeleteKbContents(kb_id));
    DV_RETURN_IF_ERROR(txn.Commit());
  }
  return RecoverIndex();
}

}  // namespace dv::kb
