// Okapi BM25 as a Xapian weighting scheme, with the textbook (Robertson/Lucene) formula so that
// scores can be checked by hand:
//
//   score(d, q) = Σ_{t ∈ q} wqf(t) · idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d| / avgdl))
//   idf(t)      = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))
//
// N = documents in the index, n(t) = documents containing t, tf = within-document frequency of t,
// |d| = document length (sum of all within-document frequencies), avgdl = mean |d|.
//
// Thread safety: Xapian clones one instance per term per query; instances are not shared.
#pragma once

#include <xapian.h>

#include <string>

namespace dv::kb {

class Bm25Weight final : public Xapian::Weight {
 public:
  // REQUIRES: k1 >= 0, 0 <= b <= 1 (validated by the caller).
  Bm25Weight(double k1, double b);

  std::string name() const override { return "dv_bm25"; }
  Xapian::Weight* clone() const override { return new Bm25Weight(k1_, b_); }
  void init(double factor) override;
  double get_sumpart(Xapian::termcount wdf, Xapian::termcount doclen,
                     Xapian::termcount uniqterms) const override;
  double get_maxpart() const override;
  double get_sumextra(Xapian::termcount, Xapian::termcount) const override { return 0; }
  double get_maxextra() const override { return 0; }

  // The formula above for one term; shared with tests.
  static double Idf(double num_docs, double doc_freq);
  static double TermScore(double idf, double tf, double doc_len, double avg_doc_len, double k1, double b);

 private:
  double k1_, b_;
  double term_weight_ = 0;  // wqf · idf · factor
  double avg_len_ = 1;
};

}  // namespace dv::kb
