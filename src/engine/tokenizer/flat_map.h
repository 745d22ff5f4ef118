// Open-addressing hash maps for the tokenizer's hot paths (vocabulary and merge lookups).
// Built once, then read-only: concurrent Find() calls are safe after construction.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace dv::tok {

// 64-bit hash of a byte string (multiply-xorshift over 8-byte words).
inline uint64_t HashBytes(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * kMul);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < s.size(); ++k) tail |= uint64_t(static_cast<unsigned char>(s[i + k])) << (8 * k);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  return h;
}

inline size_t CapacityFor(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;  // load factor <= 0.5
  return cap;
}

// string → int32 map. Keys are copied into an internal arena.
class FlatStringMap {
 public:
  FlatStringMap() = default;
  explicit FlatStringMap(size_t expected) { Reset(expected); }

  void Reset(size_t expected) {
    slots_.assign(CapacityFor(expected), Slot{});
    arena_.clear();
    size_ = 0;
  }

  // Inserts key→value unless the key exists. Returns false when it existed (value unchanged).
  bool Insert(std::string_view key, int32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = HashBytes(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s.hash = h;
        s.offset = static_cast<uint32_t>(arena_.size());
        s.len = static_cast<uint32_t>(key.size());
        s.value = value;
        arena_.append(key);
        ++size_;
        return true;
      }
      if (s.hash == h && KeyOf(s) == key) return false;
    }
  }

  // Returns the value or -1.
  int32_t Find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const uint64_t h = HashBytes(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return -1;
      if (s.hash == h && KeyOf(s) == key) return s.value;
    }
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t len = kEmpty;
    int32_t value = -1;
  };
  std::string_view KeyOf(const Slot& s) const { return std::string_view(arena_).substr(s.offset, s.len); }
  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.len == kEmpty) continue;
      size_t i = s.hash & mask;
      while (slots_[i].len != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
};

// (left id, right id) → merge entry (rank, merged id) for BPE merges.
// A slot is one 64-bit word, left:22 | right:22 | entry:20 bits, so the table of a 150K-merge
// vocabulary is 2 MiB: the lookups of the merge loop mostly hit the CPU cache.
class MergeMap {
 public:
  static constexpr uint32_t kMaxId = (1u << 22) - 2;       // largest token id that fits a slot
  static constexpr uint32_t kMaxEntries = (1u << 20) - 1;  // most merges that fit a slot

  void Reset(size_t expected) {
    size_t cap = 16;
    while (cap * 5 < expected * 8) cap <<= 1;  // load factor <= 0.625
    slots_.assign(cap, kEmpty);
    entries_.clear();
  }

  // Adds a merge unless the pair exists (the first, highest-priority entry wins). Returns false
  // when the pair existed. REQUIRES: ids in [0, kMaxId], size() < kMaxEntries.
  bool Insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
    if ((entries_.size() + 1) * 8 > slots_.size() * 5) Rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const uint64_t pair = Pair(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(pair) & mask;; i = (i + 1) & mask) {
      const uint64_t s = slots_[i];
      if (s == kEmpty) {
        slots_[i] = (pair << 20) | entries_.size();
        entries_.push_back(Entry{rank, merged});
        return true;
      }
      if ((s >> 20) == pair) return false;
    }
  }

  // The entry of the pair, or -1 when it does not merge.
  int32_t Find(int32_t left, int32_t right) const {
    if (slots_.empty()) return -1;
    const uint64_t pair = Pair(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(pair) & mask;; i = (i + 1) & mask) {
      const uint64_t s = slots_[i];
      if ((s >> 20) == pair) return static_cast<int32_t>(s & kEntryMask);
      if (s == kEmpty) return -1;
    }
  }

  int32_t rank(int32_t entry) const { return entries_[static_cast<size_t>(entry)].rank; }
  int32_t merged(int32_t entry) const { return entries_[static_cast<size_t>(entry)].merged; }
  size_t size() const { return entries_.size(); }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  static constexpr uint64_t kEntryMask = (1u << 20) - 1;
  static uint64_t Pair(int32_t l, int32_t r) { return (uint64_t(uint32_t(l)) << 22) | uint32_t(r); }
  static uint64_t Hash(uint64_t k) {
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 29);
  }
  void Rehash(size_t cap) {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(cap, kEmpty);
    const size_t mask = cap - 1;
    for (uint64_t s : old) {
      if (s == kEmpty) continue;
      size_t i = Hash(s >> 20) & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  // rank and merged id side by side: a lookup touches one slot and one entry (two cache lines of
  // tables too large for the caches, instead of three).
  struct Entry {
    int32_t rank, merged;
  };
  std::vector<uint64_t> slots_;
  std::vector<Entry> entries_;
};

}  // namespace dv::tok
