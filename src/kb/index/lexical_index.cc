#include "kb/index/lexical_index.h"

#include <xapian.h>

#include <algorithm>
#include <filesystem>
#include <map>

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

Xapian::docid ToDocId(int64_t chunk_id) { return static_cast<Xapian::docid>(chunk_id); }

Status CheckChunkId(int64_t chunk_id) {
  if (chunk_id <= 0 || chunk_id > static_cast<int64_t>(UINT32_MAX)) {
    return Internal("chunk id " + std::to_string(chunk_id) + " out of the index's docid range");
  }
  return Status::Ok();
}

}  // namespace

struct LexicalIndex::Impl {
  std::string dir;
  bool writable = false;
  int title_boost = 3;
  Xapian::WritableDatabase wdb;
  Xapian::Database rdb;
  bool empty = false;  // read-only and no index on disk yet

  Xapian::Database& db() { return writable ? wdb : rdb; }
};

LexicalIndex::LexicalIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LexicalIndex::~LexicalIndex() {
  if (impl_ && impl_->writable) {
    try {
      impl_->wdb.close();  // uncommitted changes are discarded, as after a crash
    } catch (const Xapian::Error&) {
    }
  }
}

Result<std::unique_ptr<LexicalIndex>> LexicalIndex::OpenWritable(const std::string& dir, int title_boost) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->writable = true;
  impl->title_boost = std::max(1, title_boost);
  try {
    impl->wdb = Xapian::WritableDatabase(dir, Xapian::DB_CREATE_OR_OPEN | Xapian::DB_BACKEND_GLASS);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "opening index " + dir + " for writing");
  }
  return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(impl)));
}

Result<std::unique_ptr<LexicalIndex>> LexicalIndex::OpenReadOnly(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    impl->empty = true;
    return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(impl)));
  }
  try {
    impl->rdb = Xapian::Database(dir);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "opening index " + dir);
  }
  return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(impl)));
}

Status LexicalIndex::Put(const IndexedChunk& chunk) {
  if (!impl_->writable) return FailedPrecondition("index opened read-only");
  DV_RETURN_IF_ERROR(CheckChunkId(chunk.chunk_id));
  try {
    Xapian::Document doc;
    // Positions only for the chain terms phrases are made of; the rest only count.
    for (const Token& t : chunk.body_tokens) {
      if (t.chain) {
        doc.add_posting(t.term, t.position + 1);
      } else {
        doc.add_term(t.term);
      }
    }
    const Xapian::termcount boost = static_cast<Xapian::termcount>(impl_->title_boost);
    for (const Token& t : chunk.title_tokens) doc.add_term(t.term, boost);
    doc.add_boolean_term(Prefixed('K', std::to_string(chunk.kb_id)));
    doc.add_boolean_term(Prefixed('D', std::to_string(chunk.doc_id)));
    if (!chunk.doc_type.empty()) doc.add_boolean_term(Prefixed('T', chunk.doc_type));
    for (const std::string& tag : chunk.tags) {
      if (!tag.empty()) doc.add_boolean_term(Prefixed('G', tag));
    }
    if (!chunk.date.empty()) doc.add_value(kDateSlot, DateValue(chunk.date));
    impl_->wdb.replace_document(ToDocId(chunk.chunk_id), doc);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "indexing chunk " + std::to_string(chunk.chunk_id));
  }
  return Status::Ok();
}

Status LexicalIndex::Remove(int64_t chunk_id) {
  if (!impl_->writable) return FailedPrecondition("index opened read-only");
  DV_RETURN_IF_ERROR(CheckChunkId(chunk_id));
  try {
    impl_->wdb.delete_document(ToDocId(chunk_id));
  } catch (const Xapian::DocNotFoundError&) {
    // Already gone: removal is idempotent.
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "removing chunk " + std::to_string(chunk_id));
  }
  return Status::Ok();
}

Status LexicalIndex::Commit() {
  if (!impl_->writable) return FailedPrecondition("index opened read-only");
  try {
    impl_->wdb.commit();
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "committing index " + impl_->dir);
  }
  return Status::Ok();
}

Status LexicalIndex::Reopen() {
  if (impl_->empty) {
    auto fresh = OpenReadOnly(impl_->dir);
    if (!fresh.ok()) return fresh.status();
    impl_ = std::move((*fresh)->impl_);
    return Status::Ok();
  }
  try {
    impl_->db().reopen();
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reopening index " + impl_->dir);
  }
  return Status::Ok();
}

Result<std::vector<LexicalHit>> LexicalIndex::Search(const LexicalQuery& q, size_t k) {
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
    Xapian::Enquire enquire(impl_->db());
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
  if (impl_->empty) return uint64_t{0};
  try {
    return static_cast<uint64_t>(impl_->db().get_doccount());
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reading index " + impl_->dir);
  }
}

Result<std::vector<int64_t>> LexicalIndex::AllChunkIds() {
  std::vector<int64_t> ids;
  if (impl_->empty) return ids;
  try {
    Xapian::Database& db = impl_->db();
    for (auto it = db.postlist_begin(""); it != db.postlist_end(""); ++it) ids.push_back(*it);
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reading index " + impl_->dir);
  }
  return ids;
}

Result<uint64_t> LexicalIndex::TermFrequency(const std::string& term) {
  if (impl_->empty) return uint64_t{0};
  try {
    return static_cast<uint64_t>(impl_->db().get_termfreq(term));
  } catch (const Xapian::Error& e) {
    return FromXapian(e, "reading index " + impl_->dir);
  }
}

}  // namespace dv::kb
