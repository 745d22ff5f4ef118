// Retrieval metrics with the trec_eval conventions (graded gains):
//   nDCG@k   = DCG@k / IDCG@k, DCG@k = Σ_{i=1..k} grade(d_i) / log2(i + 1), IDCG from the judged
//              grades sorted descending; grade = qrels score, non-positive scores count as 0.
//   Recall@k = |relevant ∩ top k| / |relevant|, relevant = judged with score > 0.
//   MRR@k    = 1 / rank of the first relevant document within the top k, 0 when none.
// Averaged over the queries that have at least one relevant judgment; such a query with no
// results scores 0.
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dv::kb {

// query id → (document id → graded relevance)
using Qrels = std::map<std::string, std::map<std::string, int>>;
// query id → ranked document ids, best first (duplicates are the caller's bug; later ones ignored)
using Run = std::map<std::string, std::vector<std::string>>;

double NdcgAtK(const std::vector<std::string>& ranking, const std::map<std::string, int>& judged, size_t k);
double RecallAtK(const std::vector<std::string>& ranking, const std::map<std::string, int>& judged, size_t k);
double ReciprocalRankAtK(const std::vector<std::string>& ranking, const std::map<std::string, int>& judged, size_t k);

struct EvalMetrics {
  size_t queries = 0;
  double ndcg10 = 0, recall10 = 0, recall100 = 0, mrr10 = 0;
};

EvalMetrics Evaluate(const Run& run, const Qrels& qrels);

}  // namespace dv::kb
