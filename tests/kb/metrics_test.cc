// Retrieval metrics on a hand-made example (trec_eval conventions, graded gains).
#include "kb/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dv::kb {
namespace {

// Ranking d3, d1, d5, d2 against judgments d1 = 2, d2 = 1, d4 = 3 (d3, d5 unjudged).
//   DCG@10  = 2/log2(3) + 1/log2(5)            = 1.261860 + 0.430677 = 1.692537
//   IDCG@10 = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.261860 + 0.5  = 4.761860
//   nDCG@10 = 0.355436; Recall@10 = 2/3; Recall@2 = 1/3; RR@10 = 1/2.
const std::vector<std::string> kRanking = {"d3", "d1", "d5", "d2"};
const std::map<std::string, int> kJudged = {{"d1", 2}, {"d2", 1}, {"d4", 3}};

TEST(KbMetricsTest, HandComputedExample) {
  EXPECT_NEAR(NdcgAtK(kRanking, kJudged, 10), 0.355436, 1e-6);
  EXPECT_NEAR(RecallAtK(kRanking, kJudged, 10), 2.0 / 3, 1e-12);
  EXPECT_NEAR(RecallAtK(kRanking, kJudged, 2), 1.0 / 3, 1e-12);
  EXPECT_NEAR(ReciprocalRankAtK(kRanking, kJudged, 10), 0.5, 1e-12);
  EXPECT_EQ(ReciprocalRankAtK(kRanking, kJudged, 1), 0.0);
  // nDCG@1: d3 has no gain.
  EXPECT_EQ(NdcgAtK(kRanking, kJudged, 1), 0.0);
}

TEST(KbMetricsTest, PerfectRankingScoresOne) {
  const std::vector<std::string> ideal = {"d4", "d1", "d2"};
  EXPECT_NEAR(NdcgAtK(ideal, kJudged, 10), 1.0, 1e-12);
  EXPECT_NEAR(RecallAtK(ideal, kJudged, 10), 1.0, 1e-12);
  EXPECT_NEAR(ReciprocalRankAtK(ideal, kJudged, 10), 1.0, 1e-12);
}

TEST(KbMetricsTest, AveragesOverJudgedQueriesOnly) {
  Qrels qrels;
  qrels["q1"] = kJudged;
  qrels["q2"] = {{"x", 1}};         // judged, nothing retrieved: counts as 0
  qrels["q3"] = {{"y", 0}};         // no relevant document: skipped (trec_eval)
  kb::Run run;
  run["q1"] = kRanking;
  run["q3"] = {"y"};
  run["q9"] = {"z"};                // not judged: ignored
  EvalMetrics m = Evaluate(run, qrels);
  EXPECT_EQ(m.queries, 2u);
  EXPECT_NEAR(m.ndcg10, 0.355436 / 2, 1e-6);
  EXPECT_NEAR(m.recall10, 1.0 / 3, 1e-9);
  EXPECT_NEAR(m.mrr10, 0.25, 1e-12);
}

TEST(KbMetricsTest, DuplicateDocumentsInARunCountOnce) {
  const std::vector<std::string> dup = {"d1", "d1", "d2"};
  EXPECT_NEAR(RecallAtK(dup, kJudged, 2), 2.0 / 3, 1e-12);
}

}  // namespace
}  // namespace dv::kb
