// Retrieval evaluation on a collection in the BEIR layout (../shared/eval/README.md):
//   corpus.jsonl  {"_id", "title", "text"} per line
//   queries.jsonl {"_id", "text"} per line
//   qrels.tsv     header "query-id<TAB>corpus-id<TAB>score", then one judgment a line
// The corpus is ingested through the normal pipeline into a scratch shard and every judged query
// is run through the normal searcher; chunk hits become document rankings (best chunk wins).
//
// Thread safety: functions are independent; RunLexicalEval uses its own scratch directory.
#pragma once

#include <string>
#include <vector>

#include "deepvault/status.h"
#include "kb/analysis/analyzer.h"
#include "kb/eval/metrics.h"
#include "kb/ingest/pipeline.h"

namespace dv::kb {

struct BeirDocument {
  std::string id, title, text;
};
struct BeirQuery {
  std::string id, text;
};
struct BeirCollection {
  std::vector<BeirDocument> corpus;
  std::vector<BeirQuery> queries;
  Qrels qrels;
};

// Reads and validates the three files; errors name the file and line.
Result<BeirCollection> LoadBeirCollection(const std::string& dir);

struct EvalOptions {
  IngestOptions ingest;
  double k1 = 1.2;
  double b = 0.75;
  size_t depth = 100;  // documents ranked per query
};

struct EvalReport {
  EvalMetrics metrics;
  size_t documents = 0;
  size_t chunks = 0;
  double ingest_seconds = 0;
  double query_p50_ms = 0;
  double query_p99_ms = 0;
};

// Ingests `collection` into a fresh shard in `scratch_dir` (which must not hold a shard yet) and
// evaluates every query that has a relevant judgment.
Result<EvalReport> RunLexicalEval(const BeirCollection& collection, const std::string& scratch_dir,
                                  const Analyzer& analyzer, const EvalOptions& options);

// Writes the run in TREC format ("qid Q0 docid rank score tag"), for trec_eval cross-checks.
std::string FormatTrecRun(const Run& run, const std::string& tag);

}  // namespace dv::kb
