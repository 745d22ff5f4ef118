#include "kb/eval/beir.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "common/utf8.h"
#include "kb/search/searcher.h"

namespace dv::kb {

namespace {

constexpr size_t kMaxLineBytes = size_t{16} << 20;

// Calls fn(line_number, line) for every non-empty line of `path`.
template <typename Fn>
Status ForEachLine(const std::filesystem::path& path, Fn&& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line.size() > kMaxLineBytes) {
      return InvalidArgument(path.filename().string() + " line " + std::to_string(number) + " is longer than 16 MiB");
    }
    if (!utf8::IsValid(line)) {
      return InvalidArgument(path.filename().string() + " line " + std::to_string(number) + " is not valid UTF-8");
    }
    DV_RETURN_IF_ERROR(fn(number, line));
  }
  return Status::Ok();
}

Result<std::string> StringField(const nlohmann::json& obj, const char* key, bool required, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return InvalidArgument(where + ": missing \"" + key + "\"");
    return std::string();
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return InvalidArgument(where + ": \"" + key + "\" must be a string");
}

}  // namespace

Result<BeirCollection> LoadBeirCollection(const std::string& dir) {
  namespace fs = std::filesystem;
  BeirCollection c;
  const fs::path root(dir);
  for (const char* name : {"corpus.jsonl", "queries.jsonl", "qrels.tsv"}) {
    if (!fs::exists(root / name)) return NotFound(dir + " has no " + name + " (expected the BEIR layout)");
  }
  std::unordered_set<std::string> doc_ids, query_ids;
  auto json_line = [&](const char* file, size_t number, const std::string& line) -> Result<nlohmann::json> {
    nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded() || !obj.is_object()) {
      return InvalidArgument(std::string(file) + " line " + std::to_string(number) + " is not a JSON object");
    }
    return obj;
  };
  DV_RETURN_IF_ERROR(ForEachLine(root / "corpus.jsonl", [&](size_t number, const std::string& line) -> Status {
    const std::string where = "corpus.jsonl line " + std::to_string(number);
    DV_ASSIGN_OR_RETURN(nlohmann::json obj, json_line("corpus.jsonl", number, line));
    BeirDocument d;
    DV_ASSIGN_OR_RETURN(d.id, StringField(obj, "_id", true, where));
    DV_ASSIGN_OR_RETURN(d.title, StringField(obj, "title", false, where));
    DV_ASSIGN_OR_RETURN(d.text, StringField(obj, "text", true, where));
    if (d.id.empty()) return InvalidArgument(where + ": empty \"_id\"");
    if (!doc_ids.insert(d.id).second) return InvalidArgument(where + ": duplicate document id " + d.id);
    c.corpus.push_back(std::move(d));
    return Status::Ok();
  }));
  DV_RETURN_IF_ERROR(ForEachLine(root / "queries.jsonl", [&](size_t number, const std::string& line) -> Status {
    const std::string where = "queries.jsonl line " + std::to_string(number);
    DV_ASSIGN_OR_RETURN(nlohmann::json obj, json_line("queries.jsonl", number, line));
    BeirQuery q;
    DV_ASSIGN_OR_RETURN(q.id, StringField(obj, "_id", true, where));
    DV_ASSIGN_OR_RETURN(q.text, StringField(obj, "text", true, where));
    if (!query_ids.insert(q.id).second) return InvalidArgument(where + ": duplicate query id " + q.id);
    c.queries.push_back(std::move(q));
    return Status::Ok();
  }));
  bool header = true;
  DV_RETURN_IF_ERROR(ForEachLine(root / "qrels.tsv", [&](size_t number, const std::string& line) -> Status {
    const std::string where = "qrels.tsv line " + std::to_string(number);
    std::vector<std::string> cols;
    size_t start = 0;
    for (;;) {
      size_t tab = line.find('\t', start);
      cols.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (header) {
      header = false;
      if (!cols.empty() && cols[0] == "query-id") return Status::Ok();
    }
    if (cols.size() != 3) return InvalidArgument(where + ": expected 3 tab-separated columns");
    int score = 0;
    try {
      size_t used = 0;
      score = std::stoi(cols[2], &used);
      if (used != cols[2].size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return InvalidArgument(where + ": score \"" + cols[2] + "\" is not an integer");
    }
    if (!query_ids.count(cols[0])) return InvalidArgument(where + ": unknown query id " + cols[0]);
    if (!doc_ids.count(cols[1])) return InvalidArgument(where + ": unknown document id " + cols[1]);
    c.qrels[cols[0]][cols[1]] = score;
    return Status::Ok();
  }));
  if (c.corpus.empty()) return InvalidArgument(dir + "/corpus.jsonl has no documents");
  if (c.qrels.empty()) return InvalidArgument(dir + "/qrels.tsv has no judgments");
  return c;
}

Result<EvalReport> RunLexicalEval(const BeirCollection& collection, const std::string& scratch_dir,
                                  const Analyzer& analyzer, const EvalOptions& options) {
  EvalReport report;
  constexpr int64_t kKbId = 1;
  {
    std::vector<std::pair<std::string, ParsedDocument>> docs;
    docs.reserve(collection.corpus.size());
    for (const BeirDocument& d : collection.corpus) {
      ParsedDocument p;
      p.title = d.title;
      p.mime_type = "text/plain";
      p.blocks.push_back(Block{BlockKind::kParagraph, 0, d.text, 0, ""});
      docs.emplace_back(d.id, std::move(p));
    }
    const auto t0 = std::chrono::steady_clock::now();
    DV_ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> writer, ShardWriter::Open(scratch_dir, &analyzer));
    DV_ASSIGN_OR_RETURN(IngestStats stats, writer->AddParsed(kKbId, std::move(docs), options.ingest));
    report.ingest_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report.documents = stats.added + stats.updated + stats.unchanged;
    report.chunks = stats.chunks;
  }
  DV_ASSIGN_OR_RETURN(std::unique_ptr<Searcher> searcher, Searcher::Open(scratch_dir, &analyzer));
  // chunk id → document id of the collection
  std::unordered_map<int64_t, std::string> chunk_doc;
  {
    DV_ASSIGN_OR_RETURN(sql::Statement st, searcher->shard().db().Prepare(
        "SELECT c.id, d.source FROM chunks c JOIN documents d ON d.id = c.doc_id"));
    for (;;) {
      DV_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      chunk_doc.emplace(st.ColumnInt(0), st.ColumnText(1));
    }
  }
  Run run;
  std::vector<double> latencies;
  for (const BeirQuery& q : collection.queries) {
    if (!collection.qrels.count(q.id)) continue;
    SearchRequest req;
    req.query = q.text;
    // Evaluation queries are natural language: quotes are not phrase operators here.
    std::replace(req.query.begin(), req.query.end(), '"', ' ');
    req.k1 = options.k1;
    req.b = options.b;
    req.k = 1;
    const auto t0 = std::chrono::steady_clock::now();
    DV_ASSIGN_OR_RETURN(std::vector<LexicalHit> hits, searcher->SearchChunks(kKbId, req, options.depth * 3));
    std::vector<std::string>& ranking = run[q.id];
    std::unordered_set<std::string> seen;
    for (const LexicalHit& h : hits) {
      auto it = chunk_doc.find(h.chunk_id);
      if (it == chunk_doc.end()) continue;
      if (seen.insert(it->second).second) ranking.push_back(it->second);
      if (ranking.size() >= options.depth) break;
    }
    latencies.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  report.metrics = Evaluate(run, collection.qrels);
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    report.query_p50_ms = latencies[latencies.size() / 2];
    report.query_p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  return report;
}

std::string FormatTrecRun(const Run& run, const std::string& tag) {
  std::string out;
  for (const auto& [query, docs] : run) {
    for (size_t i = 0; i < docs.size(); ++i) {
      out += query + " Q0 " + docs[i] + " " + std::to_string(i + 1) + " " +
             std::to_string(static_cast<double>(docs.size() - i)) + " " + tag + "\n";
    }
  }
  return out;
}

}  // namespace dv::kb
