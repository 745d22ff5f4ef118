#include "engine/tokenizer/bpe.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <climits>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "common/utf8.h"
#include "engine/tokenizer/byte_level.h"

namespace dv::tok {
namespace {

constexpr size_t kLinearMaxSymbols = 24;

// Per-thread cache of encoded pieces: direct-mapped on the piece hash, no locking.
constexpr size_t kCacheKeyMax = 46;
constexpr size_t kCacheIdsMax = 12;
constexpr size_t kCacheEntries = 8192;  // power of two
struct CacheEntry {
  uint64_t hash = 0;
  uint64_t owner = 0;  // BpeModel::uid_; 0 marks an empty entry
  uint8_t key_len = 0;
  uint8_t n_ids = 0;
  char key[kCacheKeyMax];
  TokenId ids[kCacheIdsMax];
};

CacheEntry* ThreadCache() {
  thread_local std::unique_ptr<CacheEntry[]> cache(new CacheEntry[kCacheEntries]);
  return cache.get();
}

std::atomic<uint64_t> next_model_uid{1};

// "<0x41>" → 0x41; -1 when `s` is not a byte token.
int ParseByteToken(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = s[k];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return -1;
    }
    v = v * 16 + d;
  }
  return v;
}

TokenAttr AttrOf(const TokenizerSpec& spec, size_t id) {
  return spec.attrs.empty() ? TokenAttr::kNormal : spec.attrs[id];
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", b);
      out += buf;
    } else {
      out += c;
    }
  }
  return utf8::Sanitize(out);
}

}  // namespace

Result<BpeModel> BpeModel::Create(const TokenizerSpec& spec) {
  BpeModel m;
  m.uid_ = next_model_uid.fetch_add(1);
  m.byte_level_ = spec.byte_level;
  m.byte_fallback_ = spec.byte_fallback;
  m.ignore_merges_ = spec.ignore_merges;
  m.fuse_unk_ = spec.fuse_unk;
  m.unk_id_ = spec.unk_id.value_or(-1);
  m.byte_ids_.fill(-1);
  const size_t n = spec.tokens.size();

  // Token text → id, for resolving merges (first occurrence wins on duplicates).
  std::unordered_map<std::string_view, TokenId> by_text;
  by_text.reserve(n * 2);
  for (size_t id = 0; id < n; ++id) by_text.emplace(spec.tokens[id], static_cast<TokenId>(id));

  m.vocab_.Reset(n);
  std::string raw;
  for (size_t id = 0; id < n; ++id) {
    const std::string& t = spec.tokens[id];
    const TokenAttr attr = AttrOf(spec, id);
    if (m.byte_level_) {
      raw.clear();
      if (byte_level::Decode(t, raw)) m.vocab_.Insert(raw, static_cast<TokenId>(id));
    } else {
      if (attr == TokenAttr::kByte) {
        const int b = ParseByteToken(t);
        if (b < 0) {
          return InvalidArgument("token " + std::to_string(id) + " is marked as a byte token but \"" +
                                 Printable(t) + "\" is not of the form <0xXX>");
        }
        if (m.byte_ids_[b] < 0) m.byte_ids_[b] = static_cast<TokenId>(id);
        continue;
      }
      if (spec.byte_fallback) {
        const int b = ParseByteToken(t);
        if (b >= 0 && m.byte_ids_[b] < 0) m.byte_ids_[b] = static_cast<TokenId>(id);
      }
      m.vocab_.Insert(t, static_cast<TokenId>(id));
    }
  }
  if (m.byte_level_) {
    std::string one;
    for (int b = 0; b < 256; ++b) {
      one.assign(1, static_cast<char>(b));
      m.byte_ids_[b] = m.vocab_.Find(one);
    }
  }

  if (n > MergeMap::kMaxId + 1) {
    return InvalidArgument("BPE vocabulary of " + std::to_string(n) + " tokens is too large (limit " +
                           std::to_string(MergeMap::kMaxId + 1) + ")");
  }
  if (spec.merges.size() > MergeMap::kMaxEntries) {
    return InvalidArgument(std::to_string(spec.merges.size()) + " merges exceed the limit of " +
                           std::to_string(MergeMap::kMaxEntries));
  }
  if (!spec.merges.empty()) {
    m.merges_.Reset(spec.merges.size());
    std::string joined;
    for (size_t r = 0; r < spec.merges.size(); ++r) {
      const auto& [a, b] = spec.merges[r];
      auto describe = [&] { return "merge #" + std::to_string(r) + " \"" + Printable(a) + " " + Printable(b) + "\""; };
      const auto ia = by_text.find(a);
      const auto ib = by_text.find(b);
      if (ia == by_text.end()) return InvalidArgument(describe() + " refers to unknown token \"" + Printable(a) + "\"");
      if (ib == by_text.end()) return InvalidArgument(describe() + " refers to unknown token \"" + Printable(b) + "\"");
      joined = a + b;
      const auto ij = by_text.find(joined);
      if (ij == by_text.end()) {
        return InvalidArgument(describe() + " produces \"" + Printable(joined) + "\", which is not in the vocabulary");
      }
      m.merges_.Insert(ia->second, ib->second, static_cast<int32_t>(r), ij->second);
    }
  } else if (!spec.scores.empty()) {
    // SentencePiece: every token that splits into two tokens is a merge, ranked by score.
    std::vector<float> sorted(spec.scores);
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    auto rank_of = [&](float score) {
      return static_cast<int32_t>(std::lower_bound(sorted.begin(), sorted.end(), score, std::greater<float>()) -
                                  sorted.begin());
    };
    m.merges_.Reset(n);
    for (size_t id = 0; id < n; ++id) {
      const TokenAttr attr = AttrOf(spec, id);
      if (attr != TokenAttr::kNormal && attr != TokenAttr::kUserDefined) continue;
      const std::string& t = spec.tokens[id];
      const int32_t rank = rank_of(spec.scores[id]);
      for (size_t cut = 1; cut < t.size(); ++cut) {
        if ((static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) continue;  // not a char boundary
        const auto ia = by_text.find(std::string_view(t).substr(0, cut));
        if (ia == by_text.end()) continue;
        const auto ib = by_text.find(std::string_view(t).substr(cut));
        if (ib == by_text.end()) continue;
        if (m.merges_.size() >= MergeMap::kMaxEntries) {
          return InvalidArgument("vocabulary implies more than " + std::to_string(MergeMap::kMaxEntries) + " merges");
        }
        m.merges_.Insert(ia->second, ib->second, rank, static_cast<TokenId>(id));
      }
    }
  }
  if (m.byte_level_ && m.merges_.size() > 0) {
    m.byte_pairs_.assign(256 * 256, -1);
    for (int a = 0; a < 256; ++a) {
      for (int b = 0; b < 256; ++b) {
        if (m.byte_ids_[a] >= 0 && m.byte_ids_[b] >= 0) m.byte_pairs_[a * 256 + b] = m.merges_.Find(m.byte_ids_[a], m.byte_ids_[b]);
      }
    }
  }
  return m;
}

void BpeModel::InitialSymbols(std::string_view piece, std::vector<TokenId>& symbols) const {
  if (byte_level_) {
    for (char c : piece) {
      const TokenId id = byte_ids_[static_cast<unsigned char>(c)];
      if (id >= 0) {
        symbols.push_back(id);
      } else if (unk_id_ >= 0 && !(fuse_unk_ && !symbols.empty() && symbols.back() == unk_id_)) {
        symbols.push_back(unk_id_);
      }
    }
    return;
  }
  for (size_t i = 0; i < piece.size();) {
    const utf8::Decoded d = utf8::DecodeAt(piece, i);
    const std::string_view ch = piece.substr(i, d.length);
    i += d.length;
    const TokenId id = vocab_.Find(ch);
    if (id >= 0) {
      symbols.push_back(id);
      continue;
    }
    bool all_bytes = byte_fallback_;
    if (byte_fallback_) {
      for (char c : ch) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
    }
    if (all_bytes) {
      for (char c : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
    } else if (unk_id_ >= 0 && !(fuse_unk_ && !symbols.empty() && symbols.back() == unk_id_)) {
      symbols.push_back(unk_id_);
    }
  }
}

void BpeModel::Encode(std::string_view piece, std::vector<TokenId>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    const TokenId whole = vocab_.Find(piece);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  CacheEntry* entry = nullptr;
  uint64_t hash = 0;
  if (piece.size() <= kCacheKeyMax) {
    hash = HashBytes(piece);
    entry = &ThreadCache()[hash & (kCacheEntries - 1)];
    if (entry->owner == uid_ && entry->hash == hash && entry->key_len == piece.size() &&
        std::memcmp(entry->key, piece.data(), piece.size()) == 0) {
      out.insert(out.end(), entry->ids, entry->ids + entry->n_ids);
      return;
    }
  }
  thread_local std::vector<TokenId> symbols;
  symbols.clear();
  InitialSymbols(piece, symbols);
  // In byte-level mode each symbol is the token of one byte (unless bytes lacked tokens).
  const std::string_view bytes = (!byte_pairs_.empty() && symbols.size() == piece.size()) ? piece : std::string_view();
  if (symbols.size() <= kLinearMaxSymbols) {
    MergeLinear(symbols, bytes);
  } else {
    MergeHeap(symbols, bytes);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (entry != nullptr && symbols.size() <= kCacheIdsMax) {
    entry->owner = uid_;
    entry->hash = hash;
    entry->key_len = static_cast<uint8_t>(piece.size());
    entry->n_ids = static_cast<uint8_t>(symbols.size());
    std::memcpy(entry->key, piece.data(), piece.size());
    std::copy(symbols.begin(), symbols.end(), entry->ids);
  }
}

void BpeModel::MergeLinear(std::vector<TokenId>& s, std::string_view bytes) const {
  if (s.size() < 2 || merges_.size() == 0) return;
  // rank[i], merged[i]: the merge of the pair (s[i], s[i+1]), INT_MAX when none.
  int32_t rank[kLinearMaxSymbols * 4];
  TokenId merged[kLinearMaxSymbols * 4];
  std::vector<int32_t> rank_heap;
  std::vector<TokenId> merged_heap;
  int32_t* rk = rank;
  TokenId* mg = merged;
  if (s.size() > kLinearMaxSymbols * 4) {  // callers may use it on any size (tests)
    rank_heap.resize(s.size());
    merged_heap.resize(s.size());
    rk = rank_heap.data();
    mg = merged_heap.data();
  }
  auto lookup = [&](size_t i) {
    const int32_t e = merges_.Find(s[i], s[i + 1]);
    rk[i] = e >= 0 ? merges_.rank(e) : INT32_MAX;
    mg[i] = e >= 0 ? merges_.merged(e) : -1;
  };
  size_t n = s.size();
  if (!bytes.empty()) {
    for (size_t i = 0; i + 1 < n; ++i) {
      const int32_t e = byte_pairs_[static_cast<uint8_t>(bytes[i]) * 256 + static_cast<uint8_t>(bytes[i + 1])];
      rk[i] = e >= 0 ? merges_.rank(e) : INT32_MAX;
      mg[i] = e >= 0 ? merges_.merged(e) : -1;
    }
  } else {
    for (size_t i = 0; i + 1 < n; ++i) lookup(i);
  }
  while (n > 1) {
    size_t best = 0;
    int32_t best_rank = INT32_MAX;
    for (size_t i = 0; i + 1 < n; ++i) {
      if (rk[i] < best_rank) {
        best_rank = rk[i];
        best = i;
      }
    }
    if (best_rank == INT32_MAX) break;
    s[best] = mg[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      s[i] = s[i + 1];
      rk[i] = rk[i + 1];
      mg[i] = mg[i + 1];
    }
    --n;
    if (best > 0) lookup(best - 1);
    if (best + 1 < n) lookup(best);
  }
  s.resize(n);
}

void BpeModel::MergeHeap(std::vector<TokenId>& s, std::string_view bytes) const {
  const size_t n = s.size();
  if (n < 2 || merges_.size() == 0) return;
  struct Candidate {
    int32_t rank;
    int32_t pos;  // index of the left symbol
    TokenId left, right, merged;
  };
  // Min-heap on (rank, pos): lowest rank first, leftmost among equals.
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  thread_local std::vector<Candidate> heap;
  thread_local std::vector<int32_t> next, prev;
  heap.clear();
  next.resize(n);
  prev.resize(n);
  for (size_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
    prev[i] = static_cast<int32_t>(i) - 1;
  }
  auto push = [&](int32_t pos) {
    if (pos < 0) return;
    const int32_t r = next[pos];
    if (r < 0) return;
    if (const int32_t e = merges_.Find(s[pos], s[r]); e >= 0) {
      heap.push_back(Candidate{merges_.rank(e), pos, s[pos], s[r], merges_.merged(e)});
      std::push_heap(heap.begin(), heap.end(), worse);
    }
  };
  if (!bytes.empty()) {
    for (size_t i = 0; i + 1 < n; ++i) {
      const int32_t e = byte_pairs_[static_cast<uint8_t>(bytes[i]) * 256 + static_cast<uint8_t>(bytes[i + 1])];
      if (e >= 0) {
        heap.push_back(Candidate{merges_.rank(e), static_cast<int32_t>(i), s[i], s[i + 1], merges_.merged(e)});
      }
    }
    std::make_heap(heap.begin(), heap.end(), worse);
  } else {
    for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Candidate c = heap.back();
    heap.pop_back();
    const int32_t r = next[c.pos];
    if (s[c.pos] != c.left || r < 0 || s[r] != c.right) continue;  // stale
    s[c.pos] = c.merged;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    s[r] = -1;
    next[r] = -1;
    if (prev[c.pos] >= 0) push(prev[c.pos]);
    push(c.pos);
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) s[w++] = s[i];
  s.resize(w);
}

}  // namespace dv::tok
