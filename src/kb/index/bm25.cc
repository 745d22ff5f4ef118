#include "kb/index/bm25.h"

#include <algorithm>
#include <cmath>

namespace dv::kb {

Bm25Weight::Bm25Weight(double k1, double b) : k1_(k1), b_(b) {
  need_stat(COLLECTION_SIZE);
  need_stat(TERMFREQ);
  need_stat(WDF);
  need_stat(WDF_MAX);
  need_stat(WQF);
  need_stat(DOC_LENGTH);
  need_stat(DOC_LENGTH_MIN);
  need_stat(AVERAGE_LENGTH);
}

double Bm25Weight::Idf(double num_docs, double doc_freq) {
  return std::log(1.0 + (num_docs - doc_freq + 0.5) / (doc_freq + 0.5));
}

double Bm25Weight::TermScore(double idf, double tf, double doc_len, double avg_doc_len, double k1,
                             double b) {
  if (tf <= 0) return 0;
  const double norm = avg_doc_len > 0 ? doc_len / avg_doc_len : 1.0;
  return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * norm));
}

void Bm25Weight::init(double factor) {
  if (factor == 0) {  // the term-independent part: BM25 has none
    term_weight_ = 0;
    return;
  }
  const double n = static_cast<double>(get_termfreq());
  const double num_docs = static_cast<double>(get_collection_size());
  term_weight_ = factor * static_cast<double>(get_wqf()) * Idf(num_docs, n);
  avg_len_ = get_average_length();
}

double Bm25Weight::get_sumpart(Xapian::termcount wdf, Xapian::termcount doclen, Xapian::termcount) const {
  if (term_weight_ == 0) return 0;
  return TermScore(term_weight_, wdf, doclen, avg_len_, k1_, b_);
}

double Bm25Weight::get_maxpart() const {
  if (term_weight_ == 0) return 0;
  // Increasing in tf, decreasing in |d|; |d| >= tf and >= the shortest document.
  const double tf = std::max<double>(get_wdf_upper_bound(), 1);
  const double len = std::max<double>(get_doclength_lower_bound(), 0);
  return TermScore(term_weight_, tf, len, avg_len_, k1_, b_);
}

}  // namespace dv::kb
