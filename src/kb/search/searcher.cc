#include "kb/search/searcher.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "common/utf8.h"
#include "kb/ingest/pipeline.h"
#include "kb/ingest/prepare.h"

namespace dv::kb {

namespace {

constexpr size_t kMaxQueryBytes = 4096;
constexpr size_t kMaxK = 10000;

bool IsDate(const std::string& s) { return !s.empty() && NormalizeDate(s) == s; }

}  // namespace

Status ValidateSearchRequest(const SearchRequest& r) {
  if (r.query.size() > kMaxQueryBytes) {
    return InvalidArgument("query is " + std::to_string(r.query.size()) + " bytes; the limit is " +
                           std::to_string(kMaxQueryBytes));
  }
  if (!utf8::IsValid(r.query)) return InvalidArgument("query is not valid UTF-8");
  if (r.k == 0 || r.k > kMaxK) return InvalidArgument("k must be between 1 and " + std::to_string(kMaxK));
  if (!(r.k1 >= 0 && r.k1 <= 100)) return InvalidArgument("BM25 k1 must be between 0 and 100");
  if (!(r.b >= 0 && r.b <= 1)) return InvalidArgument("BM25 b must be between 0 and 1");
  if (!r.date_from.empty() && !IsDate(r.date_from)) return InvalidArgument("date must be YYYY-MM-DD, got \"" + utf8::Sanitize(r.date_from) + "\"");
  if (!r.date_to.empty() && !IsDate(r.date_to)) return InvalidArgument("date must be YYYY-MM-DD, got \"" + utf8::Sanitize(r.date_to) + "\"");
  if (r.snippet_chars > 2000) return InvalidArgument("snippet length must be at most 2000 characters");
  return Status::Ok();
}

LexicalQuery ParseQuery(const Analyzer& analyzer, std::string_view text) {
  LexicalQuery q;
  size_t i = 0;
  while (i < text.size()) {
    // Straight and curly double quotes open/close phrases.
    size_t open = std::string_view::npos;
    size_t open_len = 0;
    for (std::string_view mark : {std::string_view("\""), std::string_view("\u201c"), std::string_view("\u201d")}) {
      size_t p = text.find(mark, i);
      if (p < open) {
        open = p;
        open_len = mark.size();
      }
    }
    std::vector<Token> tokens;
    if (open == std::string_view::npos) {
      analyzer.Analyze(text.substr(i), &tokens);
      for (Token& t : tokens) q.terms.push_back(std::move(t.term));
      break;
    }
    analyzer.Analyze(text.substr(i, open - i), &tokens);
    for (Token& t : tokens) q.terms.push_back(std::move(t.term));
    tokens.clear();
    size_t body = open + open_len;
    size_t close = std::string_view::npos;
    size_t close_len = 0;
    for (std::string_view mark : {std::string_view("\""), std::string_view("\u201d"), std::string_view("\u201c")}) {
      size_t p = text.find(mark, body);
      if (p < close) {
        close = p;
        close_len = mark.size();
      }
    }
    const size_t end = close == std::string_view::npos ? text.size() : close;
    analyzer.Analyze(text.substr(body, end - body), &tokens);
    std::vector<PhraseTerm> phrase;
    for (Token& t : tokens) {
      if (t.chain) phrase.push_back(PhraseTerm{t.term, t.position});
      q.terms.push_back(std::move(t.term));
    }
    if (!phrase.empty()) q.phrases.push_back(std::move(phrase));
    i = close == std::string_view::npos ? text.size() : close + close_len;
  }
  return q;
}

std::pair<std::string, std::vector<std::pair<size_t, size_t>>> MakeSnippet(
    const Analyzer& analyzer, const std::string& text, const std::vector<std::string>& terms,
    size_t context_chars) {
  std::vector<Token> tokens;
  analyzer.Analyze(text, &tokens);
  std::set<std::string> wanted(terms.begin(), terms.end());
  std::vector<std::pair<size_t, size_t>> matches;  // byte ranges in text
  for (const Token& t : tokens) {
    if (wanted.count(t.term)) matches.emplace_back(t.begin, t.end);
  }
  std::sort(matches.begin(), matches.end());
  // Merge overlapping ranges (bigrams overlap by one character).
  std::vector<std::pair<size_t, size_t>> merged;
  for (const auto& m : matches) {
    if (!merged.empty() && m.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, m.second);
    } else {
      merged.push_back(m);
    }
  }
  // Code point index of every byte offset we need: walk once.
  std::vector<size_t> cp_starts;  // byte offset of each code point
  for (size_t i = 0; i < text.size();) {
    cp_starts.push_back(i);
    i += static_cast<size_t>(utf8::DecodeAt(text, i).length);
  }
  cp_starts.push_back(text.size());
  const size_t total_cps = cp_starts.size() - 1;
  auto cp_of = [&](size_t byte) {
    return static_cast<size_t>(std::lower_bound(cp_starts.begin(), cp_starts.end(), byte) - cp_starts.begin());
  };
  size_t window_start = 0;
  if (!merged.empty() && total_cps > context_chars) {
    // The window start (at a match) covering the most matched ranges.
    size_t best = 0, best_count = 0;
    for (size_t a = 0; a < merged.size(); ++a) {
      const size_t start_cp = cp_of(merged[a].first);
      size_t count = 0;
      for (size_t b = a; b < merged.size() && cp_of(merged[b].second) <= start_cp + context_chars; ++b) ++count;
      if (count > best_count) {
        best_count = count;
        best = start_cp;
      }
    }
    window_start = best > context_chars / 8 ? best - context_chars / 8 : 0;
  }
  const size_t window_end = std::min(total_cps, window_start + context_chars);
  window_start = window_end > context_chars ? std::min(window_start, window_end - std::min(window_end, context_chars)) : 0;
  const size_t b0 = cp_starts[window_start], b1 = cp_starts[window_end];
  std::string snippet;
  if (window_start > 0) snippet += "…";
  const size_t base = snippet.size();
  snippet += text.substr(b0, b1 - b0);
  std::vector<std::pair<size_t, size_t>> highlights;
  for (const auto& m : merged) {
    if (m.first >= b0 && m.second <= b1) highlights.emplace_back(m.first - b0 + base, m.second - b0 + base);
  }
  if (window_end < total_cps) snippet += "…";
  return {std::move(snippet), std::move(highlights)};
}

Result<std::unique_ptr<Searcher>> Searcher::Open(const std::string& shard_dir, const Analyzer* analyzer) {
  DV_ASSIGN_OR_RETURN(Shard shard, Shard::Open(ShardDbPath(shard_dir)));
  DV_ASSIGN_OR_RETURN(std::unique_ptr<LexicalIndex> index, LexicalIndex::OpenReadOnly(ShardIndexPath(shard_dir)));
  return std::unique_ptr<Searcher>(new Searcher(std::move(shard), std::move(index), analyzer));
}

Result<std::vector<LexicalHit>> Searcher::SearchChunks(int64_t kb_id, const SearchRequest& request, size_t k) {
  DV_RETURN_IF_ERROR(ValidateSearchRequest(request));
  LexicalQuery q = ParseQuery(*analyzer_, request.query);
  q.kb_id = kb_id;
  q.doc_types = request.doc_types;
  q.tags = request.tags;
  q.date_from = request.date_from;
  q.date_to = request.date_to;
  q.k1 = request.k1;
  q.b = request.b;
  return index_->Search(q, k);
}

Result<std::vector<SearchHit>> Searcher::Search(int64_t kb_id, const SearchRequest& request) {
  // Ask for a few more than k: chunks deleted from the database but not yet from the index
  // (after a crash, before recovery) are skipped.
  DV_ASSIGN_OR_RETURN(std::vector<LexicalHit> raw, SearchChunks(kb_id, request, request.k + 8));
  std::vector<int64_t> ids;
  for (const LexicalHit& h : raw) ids.push_back(h.chunk_id);
  DV_ASSIGN_OR_RETURN(std::vector<ChunkRecord> chunks, shard_.GetChunks(ids));
  std::unordered_map<int64_t, const ChunkRecord*> by_id;
  for (const ChunkRecord& c : chunks) by_id[c.id] = &c;
  const std::vector<std::string> terms = ParseQuery(*analyzer_, request.query).terms;
  std::unordered_map<int64_t, DocumentRecord> docs;
  std::vector<SearchHit> hits;
  for (const LexicalHit& h : raw) {
    if (hits.size() >= request.k) break;
    auto it = by_id.find(h.chunk_id);
    if (it == by_id.end()) continue;
    const ChunkRecord& c = *it->second;
    auto d = docs.find(c.doc_id);
    if (d == docs.end()) {
      auto doc = shard_.GetDocument(c.doc_id);
      if (!doc.ok()) {
        if (doc.status().code() == StatusCode::kNotFound) continue;
        return doc.status();
      }
      d = docs.emplace(c.doc_id, std::move(doc).value()).first;
    }
    SearchHit hit;
    hit.chunk_id = c.id;
    hit.doc_id = c.doc_id;
    hit.score = h.score;
    hit.source = d->second.source;
    hit.title = d->second.title;
    hit.doc_type = d->second.doc_type;
    hit.heading_path = c.heading_path;
    hit.page = c.page;
    hit.char_start = c.char_start;
    hit.char_end = c.char_end;
    auto [snippet, highlights] = MakeSnippet(*analyzer_, c.text, terms, request.snippet_chars);
    hit.snippet = std::move(snippet);
    hit.highlights = std::move(highlights);
    hits.push_back(std::move(hit));
  }
  return hits;
}

}  // namespace dv::kb
