#include "kb/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace dv::kb {

namespace {

int Grade(const std::map<std::string, int>& judged, const std::string& doc) {
  auto it = judged.find(doc);
  return it == judged.end() ? 0 : std::max(0, it->second);
}

size_t RelevantCount(const std::map<std::string, int>& judged) {
  return static_cast<size_t>(std::count_if(judged.begin(), judged.end(), [](const auto& p) { return p.second > 0; }));
}

}  // namespace

double NdcgAtK(const std::vector<std::string>& ranking, const std::map<std::string, int>& judged, size_t k) {
  double dcg = 0;
  std::set<std::string> seen;
  size_t rank = 0;
  for (const std::string& doc : ranking) {
    if (!seen.insert(doc).second) continue;
    if (++rank > k) break;
    dcg += Grade(judged, doc) / std::log2(static_cast<double>(rank) + 1);
  }
  std::vector<int> ideal;
  for (const auto& [doc, grade] : judged) {
    if (grade > 0) ideal.push_back(grade);
  }
  std::sort(ideal.rbegin(), ideal.rend());
  double idcg = 0;
  for (size_t i = 0; i < ideal.size() && i < k; ++i) idcg += ideal[i] / std::log2(static_cast<double>(i) + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

double RecallAtK(const std::vector<std::string>& ranking, const std::map<std::string, int>& judged, size_t k) {
  const size_t relevant = RelevantCount(judged);
  if (relevant == 0) return 0;
  std::set<std::string> seen;
  size_t rank = 0, found = 0;
  for (const std::string& doc : ranking) {
    if (!seen.insert(doc).second) continue;
    if (++rank > k) break;
    if (Grade(judged, doc) > 0) ++found;
  }
  return static_cast<double>(found) / static_cast<double>(relevant);
}

double ReciprocalRankAtK(const std::vector<std::string>& ranking, const std::map<std::string, int>& judged, size_t k) {
  std::set<std::string> seen;
  size_t rank = 0;
  for (const std::string& doc : ranking) {
    if (!seen.insert(doc).second) continue;
    if (++rank > k) break;
    if (Grade(judged, doc) > 0) return 1.0 / static_cast<double>(rank);
  }
  return 0;
}

EvalMetrics Evaluate(const Run& run, const Qrels& qrels) {
  EvalMetrics m;
  static const std::vector<std::string> kEmpty;
  for (const auto& [query, judged] : qrels) {
    if (RelevantCount(judged) == 0) continue;
    auto it = run.find(query);
    const std::vector<std::string>& ranking = it == run.end() ? kEmpty : it->second;
    ++m.queries;
    m.ndcg10 += NdcgAtK(ranking, judged, 10);
    m.recall10 += RecallAtK(ranking, judged, 10);
    m.recall100 += RecallAtK(ranking, judged, 100);
    m.mrr10 += ReciprocalRankAtK(ranking, judged, 10);
  }
  if (m.queries > 0) {
    const double n = static_cast<double>(m.queries);
    m.ndcg10 /= n;
    m.recall10 /= n;
    m.recall100 /= n;
    m.mrr10 /= n;
  }
  return m;
}

}  // namespace dv::kb
