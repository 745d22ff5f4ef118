#include "engine/tokenizer/added_tokens.h"

#include <algorithm>

#include "engine/tokenizer/unicode_class.h"

namespace dv::tok {
namespace {

bool IsWordByteAt(std::string_view text, size_t i) {
  int len;
  const char32_t cp = uc::DecodeValid(text.data() + i, &len);
  return cp == '_' || (uc::Classify(cp) & (uc::kLetter | uc::kNumber)) != 0;
}

// Start of the char that ends at `end` (exclusive).
size_t PrevCharStart(std::string_view text, size_t end) {
  size_t k = end - 1;
  while (k > 0 && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
  return k;
}

bool IsSpaceAt(std::string_view text, size_t i, int* len) {
  const char32_t cp = uc::DecodeValid(text.data() + i, len);
  return (uc::Classify(cp) & uc::kSpace) != 0;
}

}  // namespace

void AddedTokenMatcher::Build(const std::vector<AddedToken>& tokens, bool include_special) {
  nodes_.assign(1, Node{});
  tokens_.clear();
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (const AddedToken& t : tokens) {
    if (t.content.empty() || (t.special && !include_special)) continue;
    int32_t node = 0;
    for (char c : t.content) {
      const auto b = static_cast<uint8_t>(c);
      int32_t child = Child(node, b);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.push_back(Node{});
        auto& kids = nodes_[node].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{-1})),
                    std::make_pair(b, child));
      }
      node = child;
    }
    if (nodes_[node].token < 0) {  // first definition of a content wins
      nodes_[node].token = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(t);
    }
    first_byte_[static_cast<uint8_t>(t.content[0])] = true;
  }
}

int32_t AddedTokenMatcher::Child(int32_t node, uint8_t byte) const {
  const auto& kids = nodes_[node].children;
  auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{-1}));
  return (it != kids.end() && it->first == byte) ? it->second : -1;
}

bool AddedTokenMatcher::FindNext(std::string_view text, size_t from, Match* match) const {
  if (empty()) return false;
  for (size_t i = from; i < text.size(); ++i) {
    if (!first_byte_[static_cast<uint8_t>(text[i])]) continue;
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t k = i; k < text.size(); ++k) {
      node = Child(node, static_cast<uint8_t>(text[k]));
      if (node < 0) break;
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = k + 1;
      }
    }
    if (best < 0) continue;
    const AddedToken& t = tokens_[best];
    if (t.single_word) {
      const bool word_before = i > 0 && IsWordByteAt(text, PrevCharStart(text, i));
      const bool word_after = best_end < text.size() && IsWordByteAt(text, best_end);
      if (word_before || word_after) continue;
    }
    size_t begin = i, end = best_end;
    if (t.lstrip) {
      while (begin > from) {
        const size_t prev = PrevCharStart(text, begin);
        int len;
        if (!IsSpaceAt(text, prev, &len)) break;
        begin = prev;
      }
    }
    if (t.rstrip) {
      int len;
      while (end < text.size() && IsSpaceAt(text, end, &len)) end += len;
    }
    *match = Match{begin, end, t.id};
    return true;
  }
  return false;
}

}  // namespace dv::tok
