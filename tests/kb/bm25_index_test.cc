// LexicalIndex + Bm25Weight: scores equal the textbook BM25 formula computed by hand on a tiny
// corpus; phrases, filters, replacement and removal behave.
#include <gtest/gtest.h>

#include <xapian.h>

#include <algorithm>
#include <filesystem>

#include "kb/index/bm25.h"
#include "kb/index/lexical_index.h"
#include "test_util.h"

namespace dv::kb {
namespace {

std::vector<Token> Body(const std::vector<std::string>& terms) {
  std::vector<Token> out;
  for (size_t i = 0; i < terms.size(); ++i) out.push_back(Token{terms[i], static_cast<uint32_t>(i), 0, 0, true});
  return out;
}

IndexedChunk Chunk(int64_t id, const std::vector<std::string>& terms, int64_t kb = 1) {
  IndexedChunk c;
  c.chunk_id = id;
  c.doc_id = id;
  c.kb_id = kb;
  c.body_tokens = Body(terms);
  return c;
}

class KbBm25Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto index = LexicalIndex::OpenWritable((dir_.path() / "lexical").string());
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index).value();
    // N = 3 documents, lengths 3, 2, 4: average 3.
    ASSERT_TRUE(index_->Put(Chunk(1, {"apple", "apple", "banana"})).ok());
    ASSERT_TRUE(index_->Put(Chunk(2, {"apple", "cherry"})).ok());
    ASSERT_TRUE(index_->Put(Chunk(3, {"cherry", "cherry", "cherry", "date"})).ok());
    ASSERT_TRUE(index_->Commit().ok());
  }

  std::vector<LexicalHit> Search(std::vector<std::string> terms, double k1 = 1.2, double b = 0.75) {
    LexicalQuery q;
    q.terms = std::move(terms);
    q.k1 = k1;
    q.b = b;
    auto hits = index_->Search(q, 10);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    return hits.ok() ? *hits : std::vector<LexicalHit>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<LexicalIndex> index_;
};

// Expected values worked out by hand from
//   idf = ln(1 + (N - n + 0.5) / (n + 0.5)),  tf (k1+1) / (tf + k1 (1 - b + b |d| / avgdl)).
// "apple": n = 2, idf = ln 1.6 = 0.470004.
//   d1: tf 2, |d| 3 → 0.470004 · 4.4 / 3.2 = 0.646255
//   d2: tf 1, |d| 2 → 0.470004 · 2.2 / 1.9 = 0.544215
TEST_F(KbBm25Test, SingleTermScoresMatchHandComputation) {
  auto hits = Search({"apple"});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].chunk_id, 1);
  EXPECT_NEAR(hits[0].score, 0.646255, 1e-5);
  EXPECT_EQ(hits[1].chunk_id, 2);
  EXPECT_NEAR(hits[1].score, 0.544215, 1e-5);
}

// "cherry date": d3 = cherry (tf 3, |d| 4: 0.470004 · 6.6 / 4.5 = 0.689339)
//                    + date (n 1, idf ln(8/3) = 0.980829; tf 1: · 2.2 / 2.5 = 0.863130) = 1.552468
TEST_F(KbBm25Test, ScoresAddUpOverQueryTerms) {
  auto hits = Search({"cherry", "date"});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].chunk_id, 3);
  EXPECT_NEAR(hits[0].score, 1.552468, 1e-5);
  EXPECT_EQ(hits[1].chunk_id, 2);
  EXPECT_NEAR(hits[1].score, 0.544215, 1e-5);
}

// k1 = 2, b = 0.3: d1 = 0.470004 · 2·3 / (2 + 2·(0.7 + 0.3)) = 0.705005,
//                  d2 = 0.470004 · 3 / (1 + 2·(0.7 + 0.2)) = 0.503575.
TEST_F(KbBm25Test, ParametersAreConfigurable) {
  auto hits = Search({"apple"}, 2.0, 0.3);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_NEAR(hits[0].score, 0.705005, 1e-5);
  EXPECT_NEAR(hits[1].score, 0.503575, 1e-5);
  EXPECT_NEAR(Bm25Weight::TermScore(Bm25Weight::Idf(3, 2), 2, 3, 3, 2.0, 0.3), 0.705005, 1e-5);
}

TEST_F(KbBm25Test, RepeatedQueryTermCountsTwice) {
  auto once = Search({"apple"});
  auto twice = Search({"apple", "apple"});
  ASSERT_EQ(twice.size(), 2u);
  EXPECT_NEAR(twice[0].score, 2 * once[0].score, 1e-9);
}

TEST_F(KbBm25Test, PhraseNeedsAdjacentTermsInOrder) {
  LexicalQuery q;
  q.terms = {"apple", "banana"};
  q.phrases = {{{"apple", 0}, {"banana", 1}}};
  auto hits = index_->Search(q, 10);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunk_id, 1);
  q.phrases = {{{"banana", 0}, {"apple", 1}}};
  hits = index_->Search(q, 10);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
}

TEST_F(KbBm25Test, FiltersRestrictKbTypeTagAndDate) {
  IndexedChunk c = Chunk(4, {"apple"}, /*kb=*/2);
  c.doc_type = "pdf";
  c.tags = {"contract"};
  c.date = "2023-05-01";
  ASSERT_TRUE(index_->Put(c).ok());
  ASSERT_TRUE(index_->Commit().ok());
  LexicalQuery q;
  q.terms = {"apple"};
  q.kb_id = 2;
  auto hits = index_->Search(q, 10);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunk_id, 4);
  q.kb_id = 0;
  q.doc_types = {"pdf"};
  EXPECT_EQ(index_->Search(q, 10)->size(), 1u);
  q.doc_types = {"markdown"};
  EXPECT_TRUE(index_->Search(q, 10)->empty());
  q.doc_types = {};
  q.tags = {"contract"};
  EXPECT_EQ(index_->Search(q, 10)->size(), 1u);
  q.tags = {};
  q.date_from = "2023-01-01";
  q.date_to = "2023-12-31";
  EXPECT_EQ(index_->Search(q, 10)->size(), 1u);
  q.date_from = "2024-01-01";
  q.date_to = "";
  EXPECT_TRUE(index_->Search(q, 10)->empty());
}

TEST_F(KbBm25Test, ReplaceAndRemoveAreIdempotent) {
  ASSERT_TRUE(index_->Put(Chunk(1, {"kiwi"})).ok());
  ASSERT_TRUE(index_->Put(Chunk(1, {"kiwi"})).ok());
  ASSERT_TRUE(index_->Remove(2).ok());
  ASSERT_TRUE(index_->Remove(2).ok());
  ASSERT_TRUE(index_->Remove(99).ok());
  ASSERT_TRUE(index_->Commit().ok());
  EXPECT_EQ(*index_->DocumentCount(), 2u);
  EXPECT_EQ(*index_->TermFrequency("apple"), 0u);
  EXPECT_EQ(*index_->TermFrequency("kiwi"), 1u);
  EXPECT_EQ(*index_->AllChunkIds(), (std::vector<int64_t>{1, 3}));
}

TEST_F(KbBm25Test, SecondWriterIsToldTheShardIsBusy) {
  auto second = LexicalIndex::OpenWritable((dir_.path() / "lexical").string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

// The same chunks in 1, 2 and 5 parts: identical hits and scores (Xapian combines the parts'
// statistics), combined docids equal chunk ids, and the part count survives reopening.
TEST(KbPartitionedIndexTest, PartCountDoesNotChangeResults) {
  testing::TempDir dir;
  std::vector<std::vector<LexicalHit>> results;
  for (int parts : {1, 2, 5}) {
    const std::string path = (dir.path() / ("lexical" + std::to_string(parts))).string();
    {
      auto index = LexicalIndex::OpenWritable(path, 3, parts);
      ASSERT_TRUE(index.ok()) << index.status().ToString();
      std::vector<IndexDocument> built;
      std::vector<LexicalIndex::Pending> puts;
      built.reserve(23);
      for (int64_t id = 1; id <= 23; ++id) {
        std::vector<std::string> terms = {"common"};
        for (int64_t k = 0; k < id % 4; ++k) terms.push_back("rare" + std::to_string(id % 3));
        auto doc = (*index)->Build(Chunk(id, terms));
        ASSERT_TRUE(doc.ok());
        built.push_back(std::move(doc).value());
        puts.push_back(LexicalIndex::Pending{id, id, &built.back()});
      }
      ASSERT_TRUE((*index)->PutAll(puts).ok());
      ASSERT_TRUE((*index)->Remove(7).ok());
      ASSERT_TRUE((*index)->Commit().ok());
    }
    // Reopened with a different default: the recorded part count wins.
    ASSERT_TRUE(LexicalIndex::OpenWritable(path, 3, 4).ok());
    auto reader = LexicalIndex::OpenReadOnly(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ(*(*reader)->DocumentCount(), 22u);
    std::vector<int64_t> ids = *(*reader)->AllChunkIds();
    ASSERT_EQ(ids.size(), 22u);
    EXPECT_EQ(ids.front(), 1);
    EXPECT_EQ(ids.back(), 23);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 7), 0);
    LexicalQuery q;
    q.terms = {"rare1", "common"};
    auto hits = (*reader)->Search(q, 30);
    ASSERT_TRUE(hits.ok());
    results.push_back(*hits);
  }
  ASSERT_EQ(results[0].size(), 22u);
  for (size_t r = 1; r < results.size(); ++r) {
    ASSERT_EQ(results[r].size(), results[0].size());
    for (size_t i = 0; i < results[0].size(); ++i) {
      EXPECT_EQ(results[r][i].chunk_id, results[0][i].chunk_id);
      EXPECT_NEAR(results[r][i].score, results[0][i].score, 1e-9);
    }
  }
}

// An index written before partitioning (one Xapian database in the directory itself) is read
// and written as a single part.
TEST(KbPartitionedIndexTest, UnpartitionedIndexStillWorks) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "lexical").string();
  {
    Xapian::WritableDatabase db(path, Xapian::DB_CREATE_OR_OPEN | Xapian::DB_BACKEND_GLASS);
    Xapian::Document doc;
    doc.add_posting("legacy", 1);
    db.replace_document(5, doc);
    db.commit();
  }
  {
    auto index = LexicalIndex::OpenWritable(path);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    ASSERT_TRUE((*index)->Put(Chunk(6, {"legacy", "newer"})).ok());
    ASSERT_TRUE((*index)->Commit().ok());
  }
  auto reader = LexicalIndex::OpenReadOnly(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(*(*reader)->AllChunkIds(), (std::vector<int64_t>{5, 6}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "lexical" / "part0"));
}

TEST(KbPartitionedIndexTest, BadPartCountFileIsReported) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "lexical").string();
  ASSERT_TRUE(LexicalIndex::OpenWritable(path).ok());
  testing::WriteFile(dir.path() / "lexical" / "parts", "0\n");
  auto reader = LexicalIndex::OpenReadOnly(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kDataLoss);
}

TEST_F(KbBm25Test, RejectsBadParameters) {
  LexicalQuery q;
  q.terms = {"apple"};
  q.b = 1.5;
  EXPECT_EQ(index_->Search(q, 10).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dv::kb
