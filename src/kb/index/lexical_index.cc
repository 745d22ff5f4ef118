#include "kb/index/lexical_index.h"

#include <xapian.h>

#include <algorithm>
#include <filesystem>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "kb/index/bm25.h"

namespace dv::kb {

namespace {

constexpr Xapian::valueno kDateSlot = 0;

Status FromXapian(const Xapian::Error& e, const std::string& what) {
  std::string msg = what + ": " + e.get_type() + ": " + e.get_msg();
  const std::string type = e.get_type();
  if (type == "DatabaseLockError") {
    return Unavailable(what + ": another deepvault process is writing to this shard; try again when it finishes");
  }
  if (type == "DatabaseCorruptError") return DataLoss(std::move(msg));
  if (type == "DatabaseOpeningError" || type == "DatabaseVersionError") return DataLoss(std::move(msg));
  if (type == "InvalidArgumentError" || type == "QueryParserError") return InvalidArgument(std::move(msg));
  return Internal(std::move(msg));
}

std::string DateValue(const std::string& date) {
  // "YYYY-MM-DD" → "YYYYMMDD" (validated by the caller).
  std::string v;
  for (char c : date) {
    if (c != '-') v += c;
  }
  return v;
}

// Builds "<prefix><value>" (also sidesteps a GCC 12 -Wrestrict false positive on "K" + string).
std::string Prefixed(char prefix, std::string_view value) {
  std::string term(1, prefix);
  term.append(value);
  return term;
}

// Everything of a chunk's index document but its chunk and document ids.
void AddTerms(const IndexedChunk& chunk, unsigned title_boost, Xapian::Document& doc) {
  // Positions only for the chain terms phrases are made of; the rest only count.
  for (const Token& t : chunk.body_tokens) {
    if (t.chain) {
      doc.add_posting(t.term, t.position + 1);
    } else {
      doc.add_term(t.term);
    }
  }
  for (const Token& t : chunk.title_tokens) doc.add_term(t.term, title_boost);
  doc.add_boolean_term(Prefixed('K', std::to_string(chunk.kb_id)));
  if (!chunk.doc_type.empty()) doc.add_boolean_term(Prefixed('T', chunk.doc_type));
  for (const std::string& tag : chunk.tags) {
    if (!tag.empty()) doc.add_boolean_term(Prefixed('G', tag));
  }
  if (!chunk.date.empty()) doc.add_value(kDateSlot, DateValue(chunk.date));
}

Status CheckChunkId(int64_t chunk_id) {
  if (chunk_id <= 0 || chunk_id > static_cast<int64_t>(UINT32_MAX)) {
    return Internal("chunk id " + std::to_string(chunk_id) + " out of the index's docid range");
  }
  return Status::Ok();
}

// Layout: a legacy index is one Xapian database in `dir` itself (`dir`/iamglass). A partitioned
// index has `dir`/parts (the part count, written once, atomically, after the parts exist) and the
// databases `dir`/part0 … part<N-1>.
constexpr const char* kPartsFile = "parts";
constexpr int kMaxParts = 64;

std::string PartDir(const std::string& dir, int part) {
  return (std::filesystem::path(dir) / ("part" + std::to_string(part))).string();
}

// The part count recorded in `dir`: 0 when `dir` holds no index yet, 1 for a legacy index.
Result<int> ReadPartCount(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "iamglass", ec)) return 1;
  const fs::path parts = fs::path(dir) / kPartsFile;
  if (!fs::exists(parts, ec)) return 0;
  std::ifstream in(parts);
  int n = 0;
  if (!(in >> n) || n < 1 || n > kMaxParts) {
    return DataLoss("index " + dir + ": " + kPartsFile + " must hold a part count between 1 and " +
                    std::to_string(kMaxParts));
  }
  return n;
}

Status WritePartCount(const std::string& dir, int parts) {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::path(dir) / (std::string(kPartsFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << parts << "\n";
    out.flush();
    if (!out) return PermissionDenied("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, fs::path(dir) / kPartsFile, ec);
  if (ec) return PermissionDenied("cannot write " + (fs::path(dir) / kPartsFile).string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

// The writer thread of one part of a writable index: applies queued changes in order, so the
// caller's thread only queues them. The first Xapian error sticks; later work of that part is
// dropped (nothing reaches disk without a commit, so the index stays at its last commit).
class PartWriter {
 public:
  enum class Kind { kPut, kRemove, kCommit };
  struct Task {
    Kind kind;
    Xapian::docid docid;  // in this part
    int64_t chunk_id;
    Xapian::Document doc;  // kPut
  };

  explicit PartWriter(Xapian::WritableDatabase db) : db_(std::move(db)), thread_([this] { Loop(); }) {}
  ~PartWriter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      queue_.clear();  // uncommitted work is discarded, as after a crash
    }
    work_cv_.notify_all();
    thread_.join();
    try {
      db_.close();
    } catch (const Xapian::Error&) {
    }
  }
  PartWriter(const PartWriter&) = delete;
  PartWriter& operator=(const PartWriter&) = delete;

  // Queues `task`; waits while the queue is full (memory bound).
  void Enqueue(Task task) {
    std::unique_lock<std::mutex> lock(mu_);
    space_cv_.wait(lock, [&] { return queue_.size() < kMaxQueued; });
    queue_.push_back(std::move(task));
    work_cv_.notify_one();
  }
  // Waits until every queued task has been applied; the part's first error, if any.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
    return error_;
  }
  // REQUIRES: Wait() returned since the last Enqueue (the thread is idle).
  Xapian::WritableDatabase& db() { return db_; }

 private:
  static constexpr size_t kMaxQueued = 4096;

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Task task = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      const bool failed = !error_.ok();
      lock.unlock();
      space_cv_.notify_one();
      Status st = failed ? Status::Ok() : Apply(task);
      task.doc = Xapian::Document();  // freed outside the lock
      lock.lock();
      if (error_.ok() && !st.ok()) error_ = std::move(st);
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }

  Status Apply(Task& task) {
    try {
      switch (task.kind) {
        case Kind::kPut: db_.replace_document(task.docid, task.doc); break;
        case Kind::kRemove:
          try {
            db_.delete_document(task.docid);
          } catch (const Xapian::DocNotFoundError&) {
            // Already gone: removal is idempotent.
          }
          break;
        case Kind::kCommit: db_.commit(); break;
      }
    } catch (const Xapian::Error& e) {
      const std::string what = task.kind == Kind::kCommit ? std::string("committing an index part")
                                                          : "indexing chunk " + std::to_string(task.chunk_id);
      return FromXapian(e, what);
    }
    return Status::Ok();
  }

  Xapian::WritableDatabase db_;
  std::mutex mu_;
  std::condition_variable work_cv_, space_cv_, idle_cv_;
  std::deque<Task> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status error_;
  std::thread thread_;  // last: starts once everything above exists
};

// Chunk c lives in part (c - 1) mod N as that part's document (c - 1) / N + 1, which is exactly
// how Xapian numbers the documents of N databases combined with add_database(): the combined
// docid of every chunk is its chunk id.
struct LexicalIndex::Impl {
  std::string dir;
  bool writable = false;
  int title_boost = 3;
  std::vector<std::unique_ptr<PartWriter>> parts;  // writable only
  Xapian::Database combined;                       // all parts, for reading
  bool empty = false;                              // read-only and no index on disk yet

  int part_count() const { return static_cast<int>(parts.size()); }
  // Waits for every part's queued changes; the first error. Reading a writable index needs it
  // (the part threads must be idle while this thread reads their databases).
  Status Drain() {
    Status first;
    for (auto& part : parts) {
      Status st = part->Wait();
      if (first.ok() && !st.ok()) first = std::move(st);
    }
    return first;
  }
  size_t PartOf(int64_t chunk_id) const { return static_cast<size_t>((chunk_id - 1) % part_count()); }
  Xapian::docid LocalId(int64_t chunk_id) const {
    return static_cast<Xapian::docid>((chunk_id - 1) / part_count() + 1);
  }
};

LexicalIndex::LexicalIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LexicalIndex::~LexicalIndex() {
  if (impl_) {
    impl_->combined = Xapian::Database();
    impl_->parts.clear();  // uncommitted changes are discarded, as after a crash
  }
}

Result<std::unique_ptr<LexicalIndex>> LexicalIndex::OpenWritable(const std::string& dir, int title_boost,
                                                                 int new_parts) {
  if (new_parts < 1 || new_parts > kMaxParts) {
    return InvalidArgument("index part count must be between 1 and " + std::to_string(kMaxParts));
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->writable = true;
  impl->title_boost = std::max(1, title_boost);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return PermissionDenied("cannot create index directory " + dir + ": " + ec.message());
  DV_ASSIGN_OR_RETURN(int count, ReadPartCount(dir));
  const bool legacy = std::filesystem::exists(std::filesystem::path(dir) / "iamglass", ec);
  const bool fresh = count == 0;
  if (fresh) count = new_parts;
  try {
    for (int p = 0; p < count; ++p) {
      Xapian::WritableDatabase db(legacy ? dir : PartDir(dir, p), Xapian::DB_CREATE_OR_OPEN | Xapian::DB_BACKEND_GLASS);
      impl->combined.add_database(db);
      impl->parts.push_back(std::make_unique<PartWriter>(std::move(db)));
    }
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "opening index " + dir + " for writing");
  }
  // Parts a crash left without the count file hold nothing committed against it: recording the
  // count only now means a half-created index is simply created again.
  if (fresh) DV_RETURN_IF_ERROR(WritePartCount(dir, count));
  return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(impl)));
}

Result<std::unique_ptr<LexicalIndex>> LexicalIndex::OpenReadOnly(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  DV_ASSIGN_OR_RETURN(int count, ReadPartCount(dir));
  if (count == 0) {
    impl->empty = true;
    return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(impl)));
  }
  std::error_code ec;
  const bool legacy = std::filesystem::exists(std::filesystem::path(dir) / "iamglass", ec);
  try {
    for (int p = 0; p < count; ++p) impl->combined.add_database(Xapian::Database(legacy ? dir : PartDir(dir, p)));
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "opening index " + dir);
  }
  return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(impl)));
}

struct IndexDocument::Impl {
  Xapian::Document doc;
};

IndexDocument::IndexDocument() = default;
IndexDocument::~IndexDocument() = default;
IndexDocument::IndexDocument(IndexDocument&&) noexcept = default;
IndexDocument& IndexDocument::operator=(IndexDocument&&) noexcept = default;

Result<IndexDocument> LexicalIndex::Build(const IndexedChunk& chunk) const {
  IndexDocument out;
  out.impl_ = std::make_unique<IndexDocument::Impl>();
  try {
    AddTerms(chunk, static_cast<Xapian::termcount>(impl_->title_boost), out.impl_->doc);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "building the index document of a chunk");
  }
  return out;
}

Status LexicalIndex::PutAll(std::vector<Pending>& puts) {
  if (!impl_->writable) return FailedPrecondition("index opened read-only");
  for (const Pending& put : puts) {
    if (put.doc == nullptr || !put.doc->impl_) return InvalidArgument("index document was not built (or already used)");
    DV_RETURN_IF_ERROR(CheckChunkId(put.chunk_id));
  }
  for (const Pending& put : puts) {
    Xapian::Document doc = std::move(put.doc->impl_->doc);
    put.doc->impl_.reset();
    try {
      doc.add_boolean_term(Prefixed('D', std::to_string(put.doc_id)));
    } catch (const Xapian::Error& e) {
      return FromXapian(e, "indexing chunk " + std::to_string(put.chunk_id));
    }
    impl_->parts[impl_->PartOf(put.chunk_id)]->Enqueue(
        PartWriter::Task{PartWriter::Kind::kPut, impl_->LocalId(put.chunk_id), put.chunk_id, std::move(doc)});
  }
  return Status::Ok();
}

Status LexicalIndex::Put(const IndexedChunk& chunk) {
  DV_ASSIGN_OR_RETURN(IndexDocument doc, Build(chunk));
  std::vector<Pending> one{Pending{chunk.chunk_id, chunk.doc_id, &doc}};
  return PutAll(one);
}

Status LexicalIndex::Remove(int64_t chunk_id) {
  if (!impl_->writable) return FailedPrecondition("index opened read-only");
  DV_RETURN_IF_ERROR(CheckChunkId(chunk_id));
  impl_->parts[impl_->PartOf(chunk_id)]->Enqueue(
      PartWriter::Task{PartWriter::Kind::kRemove, impl_->LocalId(chunk_id), chunk_id, Xapian::Document()});
  return Status::Ok();
}

Status LexicalIndex::Commit() {
  if (!impl_->writable) return FailedPrecondition("index opened read-only");
  // The parts commit in parallel, each after its queued changes. A crash in between leaves some
  // parts behind the others, which the caller's replay of unconfirmed changes (Put and Remove
  // are idempotent) repairs.
  for (auto& part : impl_->parts) {
    part->Enqueue(PartWriter::Task{PartWriter::Kind::kCommit, 0, 0, Xapian::Document()});
  }
  return impl_->Drain();
}

Status LexicalIndex::Reopen() {
  if (impl_->writable) return impl_->Drain();
  if (impl_->empty) {
    auto fresh = OpenReadOnly(impl_->dir);
    if (!fresh.ok()) return fresh.status();
    impl_ = std::move((*fresh)->impl_);
    return Status::Ok();
  }
  try {
    impl_->combined.reopen();
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reopening index " + impl_->dir);
  }
  return Status::Ok();
}

Result<std::vector<LexicalHit>> LexicalIndex::Search(const LexicalQuery& q, size_t k) {
  if (impl_->writable) DV_RETURN_IF_ERROR(impl_->Drain());
  std::vector<LexicalHit> hits;
  if (impl_->empty || k == 0) return hits;
  if (!(q.k1 >= 0 && q.k1 <= 100) || !(q.b >= 0 && q.b <= 1)) {
    return InvalidArgument("BM25 parameters out of range: need 0 <= k1 <= 100 and 0 <= b <= 1");
  }
  try {
    std::map<std::string, Xapian::termcount> wqf;
    for (const std::string& t : q.terms) ++wqf[t];
    std::vector<Xapian::Query> subs;
    subs.reserve(wqf.size());
    for (const auto& [term, count] : wqf) subs.emplace_back(term, count);
    Xapian::Query query(Xapian::Query::OP_OR, subs.begin(), subs.end());
    for (const auto& phrase : q.phrases) {
      if (phrase.empty()) continue;
      std::vector<Xapian::Query> parts;
      for (const PhraseTerm& pt : phrase) parts.emplace_back(pt.term);
      Xapian::Query pq;
      if (parts.size() == 1) {
        pq = parts[0];
      } else {
        const uint32_t window = phrase.back().position - phrase.front().position + 1;
        pq = Xapian::Query(Xapian::Query::OP_PHRASE, parts.begin(), parts.end(), window);
      }
      query = query.empty() ? pq : Xapian::Query(Xapian::Query::OP_FILTER, query, pq);
    }
    if (query.empty()) return hits;
    auto any_of = [](char prefix, const std::vector<std::string>& values) {
      std::vector<Xapian::Query> parts;
      for (const std::string& v : values) parts.emplace_back(Prefixed(prefix, v));
      return Xapian::Query(Xapian::Query::OP_OR, parts.begin(), parts.end());
    };
    if (q.kb_id != 0) query = Xapian::Query(Xapian::Query::OP_FILTER, query, Xapian::Query(Prefixed('K', std::to_string(q.kb_id))));
    if (!q.doc_types.empty()) query = Xapian::Query(Xapian::Query::OP_FILTER, query, any_of('T', q.doc_types));
    if (!q.tags.empty()) query = Xapian::Query(Xapian::Query::OP_FILTER, query, any_of('G', q.tags));
    if (!q.date_from.empty() || !q.date_to.empty()) {
      const std::string lo = q.date_from.empty() ? "00000000" : DateValue(q.date_from);
      const std::string hi = q.date_to.empty() ? "99999999" : DateValue(q.date_to);
      query = Xapian::Query(Xapian::Query::OP_FILTER, query,
                            Xapian::Query(Xapian::Query::OP_VALUE_RANGE, kDateSlot, lo, hi));
    }
    Xapian::Enquire enquire(impl_->combined);
    enquire.set_query(query);
    enquire.set_weighting_scheme(Bm25Weight(q.k1, q.b));
    Xapian::MSet mset = enquire.get_mset(0, static_cast<Xapian::doccount>(k));
    hits.reserve(mset.size());
    for (auto it = mset.begin(); it != mset.end(); ++it) {
      hits.push_back(LexicalHit{static_cast<int64_t>(*it), it.get_weight()});
    }
  } catch (const Xapian::DatabaseModifiedError&) {
    DV_RETURN_IF_ERROR(Reopen());
    return Search(q, k);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "searching index " + impl_->dir);
  }
  return hits;
}

Result<uint64_t> LexicalIndex::DocumentCount() {
  if (impl_->writable) DV_RETURN_IF_ERROR(impl_->Drain());
  if (impl_->empty) return uint64_t{0};
  try {
    return static_cast<uint64_t>(impl_->combined.get_doccount());
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reading index " + impl_->dir);
  }
}

Result<std::vector<int64_t>> LexicalIndex::AllChunkIds() {
  if (impl_->writable) DV_RETURN_IF_ERROR(impl_->Drain());
  std::vector<int64_t> ids;
  if (impl_->empty) return ids;
  try {
    Xapian::Database& db = impl_->combined;
    for (auto it = db.postlist_begin(""); it != db.postlist_end(""); ++it) ids.push_back(*it);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reading index " + impl_->dir);
  }
  return ids;
}

Result<uint64_t> LexicalIndex::TermFrequency(const std::string& term) {
  if (impl_->writable) DV_RETURN_IF_ERROR(impl_->Drain());
  if (impl_->empty) return uint64_t{0};
  try {
    return static_cast<uint64_t>(impl_->combined.get_termfreq(term));
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reading index " + impl_->dir);
  }
}

}  // namespace dv::kb
