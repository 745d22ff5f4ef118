#include "engine/grammar/json_matcher.h"

#include <algorithm>

namespace dv::grammar {

namespace {

using Frame = JsonMatcher::Frame;
using Kind = JsonMatcher::Kind;
using Stack = JsonMatcher::Stack;

const std::string kTrueText = "true", kFalseText = "false", kNullText = "null";

enum ObjectPhase : uint8_t { kObjFirst, kObjColon, kObjAfterValue, kObjNeedKey };
enum ArrayPhase : uint8_t { kArrFirst, kArrAfterValue, kArrNeedValue };
enum StringPhase : uint8_t { kStrNormal, kStrEscape };
// Number phases: JSON's number grammar. Accepting: kZero, kInt, kFrac, kExpDigits.
enum NumberPhase : uint8_t { kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };

bool IsWs(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }
bool IsHex(uint8_t c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool NumberAccepting(uint8_t phase) {
  return phase == kZero || phase == kInt || phase == kFrac || phase == kExpDigits;
}

// Next number phase after `c`, or -1 when `c` does not continue the number.
int NumberNext(uint8_t phase, uint8_t c, bool integer) {
  const bool exp = (c == 'e' || c == 'E') && !integer;
  switch (phase) {
    case kMinus: return c == '0' ? kZero : IsDigit(c) ? kInt : -1;
    case kZero: return c == '.' && !integer ? kDot : exp ? kExp : -1;
    case kInt: return IsDigit(c) ? kInt : c == '.' && !integer ? kDot : exp ? kExp : -1;
    case kDot: return IsDigit(c) ? kFrac : -1;
    case kFrac: return IsDigit(c) ? kFrac : exp ? kExp : -1;
    case kExp: return c == '+' || c == '-' ? kExpSign : IsDigit(c) ? kExpDigits : -1;
    case kExpSign:
    case kExpDigits: return IsDigit(c) ? kExpDigits : -1;
  }
  return -1;
}

int Nesting(const Stack& st) {
  int n = 0;
  for (const Frame& f : st) n += f.kind == Kind::kObject || f.kind == Kind::kArray;
  return n;
}

bool CanAddKey(const Frame& obj) {
  const SchemaNode* n = obj.node;
  if (n->additional != nullptr) return true;
  for (size_t i = 0; i < n->prop_names.size(); ++i) {
    if (!(obj.mask >> i & 1) && n->prop_nodes[i] != nullptr) return true;
  }
  return false;
}

Frame KeyFrame(const Frame& obj) {
  Frame k;
  k.kind = Kind::kKey;
  k.node = obj.node;
  for (size_t i = 0; i < obj.node->prop_names.size(); ++i) {
    k.mask2 |= uint64_t{1} << i;
    if (!(obj.mask >> i & 1) && obj.node->prop_nodes[i] != nullptr) k.mask |= uint64_t{1} << i;
  }
  return k;
}

Frame ValueFrame(const SchemaNode* node) {
  Frame v;
  v.kind = Kind::kValue;
  v.node = node;
  return v;
}

Frame LiteralFrame(const std::string* text, bool control) {
  Frame l;
  l.kind = Kind::kLiteral;
  l.lit = text;
  l.flag = control;
  return l;
}

enum class StrStep { kReject, kContent, kCharStart, kClose };

// The shared string lexer of values and keys.
StrStep StringByte(Frame& f, uint8_t c) {
  if (f.hex > 0) {
    if (!IsHex(c)) return StrStep::kReject;
    --f.hex;
    return StrStep::kContent;
  }
  if (f.phase == kStrEscape) {
    f.phase = kStrNormal;
    if (c == 'u') {
      f.hex = 4;
      return StrStep::kContent;
    }
    return std::string_view("\"\\/bfnrt").find(static_cast<char>(c)) != std::string_view::npos ? StrStep::kContent
                                                                                                 : StrStep::kReject;
  }
  if (f.utf8 > 0) {
    if ((c & 0xC0) != 0x80) return StrStep::kReject;
    --f.utf8;
    return StrStep::kContent;
  }
  if (c == '"') return StrStep::kClose;
  if (c == '\\') {
    f.phase = kStrEscape;
    return StrStep::kCharStart;
  }
  if (c < 0x20) return StrStep::kReject;
  if (c >= 0x80) {
    if (c >= 0xC2 && c <= 0xDF) f.utf8 = 1;
    else if (c >= 0xE0 && c <= 0xEF) f.utf8 = 2;
    else if (c >= 0xF0 && c <= 0xF4) f.utf8 = 3;
    else return StrStep::kReject;
  }
  return StrStep::kCharStart;
}

void Feed(Stack st, uint8_t c, bool control, std::vector<Stack>& out);

// Starts a value of schema `node` with its first byte `c` (not whitespace) on top of `st`.
void Expand(const Stack& st, const SchemaNode* node, uint8_t c, std::vector<Stack>& out) {
  if (!node->any_of.empty()) {
    for (const SchemaNode* alt : node->any_of) Expand(st, alt, c, out);
    return;
  }
  if (node->has_literals) {
    for (const std::string& lit : node->literals) {
      if (static_cast<uint8_t>(lit[0]) != c) continue;
      Stack s = st;
      if (lit.size() > 1) {
        s.push_back(LiteralFrame(&lit, false));
        s.back().count = 1;
      }
      out.push_back(std::move(s));
    }
    return;
  }
  const uint8_t t = node->types;
  Frame f;
  f.node = node;
  if (c == '{' && (t & kObject)) {
    if (Nesting(st) >= kMaxNesting) return;
    f.kind = Kind::kObject;
  } else if (c == '[' && (t & kArray)) {
    if (Nesting(st) >= kMaxNesting) return;
    f.kind = Kind::kArray;
  } else if (c == '"' && (t & kString)) {
    f.kind = Kind::kString;
  } else if ((c == '-' || IsDigit(c)) && (t & (kNumber | kInteger))) {
    f.kind = Kind::kNumber;
    f.flag = !(t & kNumber);
    f.phase = c == '-' ? kMinus : c == '0' ? kZero : kInt;
    f.count = 1;
  } else if ((c == 't' || c == 'f') && (t & kBoolean)) {
    f = LiteralFrame(c == 't' ? &kTrueText : &kFalseText, false);
    f.count = 1;
  } else if (c == 'n' && (t & kNull)) {
    f = LiteralFrame(&kNullText, false);
    f.count = 1;
  } else {
    return;
  }
  Stack s = st;
  s.push_back(f);
  out.push_back(std::move(s));
}

void Feed(Stack st, uint8_t c, bool control, std::vector<Stack>& out) {
  while (!st.empty()) {
    Frame& f = st.back();
    if (f.kind == Kind::kLiteral) {
      if ((control && !f.flag) || static_cast<uint8_t>((*f.lit)[f.count]) != c) return;
      if (++f.count == f.lit->size()) st.pop_back();
      out.push_back(std::move(st));
      return;
    }
    if (control) return;
    const bool ws = IsWs(c);
    switch (f.kind) {
      case Kind::kValue: {
        if (ws) {
          if (++f.ws > kMaxWhitespaceRun) return;
          out.push_back(std::move(st));
          return;
        }
        const SchemaNode* node = f.node;
        st.pop_back();
        Expand(st, node, c, out);
        return;
      }
      case Kind::kNumber: {
        const int next = NumberNext(f.phase, c, f.flag);
        if (next >= 0) {
          if (++f.count > static_cast<uint32_t>(kMaxNumberLength)) return;
          f.phase = static_cast<uint8_t>(next);
          out.push_back(std::move(st));
          return;
        }
        if (!NumberAccepting(f.phase)) return;
        st.pop_back();
        continue;  // `c` belongs to what follows the number
      }
      case Kind::kString: {
        switch (StringByte(f, c)) {
          case StrStep::kReject: return;
          case StrStep::kCharStart:
            if (++f.count > f.node->max_length) return;
            break;
          case StrStep::kContent: break;
          case StrStep::kClose:
            if (f.count < f.node->min_length) return;
            st.pop_back();
            break;
        }
        out.push_back(std::move(st));
        return;
      }
      case Kind::kKey: {
        const StrStep step = StringByte(f, c);
        if (step == StrStep::kReject) return;
        const auto& names = f.node->prop_names;
        if (step == StrStep::kClose) {
          int32_t declared = -1;
          for (size_t i = 0; i < names.size(); ++i) {
            if ((f.mask2 >> i & 1) && names[i].size() == f.count) declared = static_cast<int32_t>(i);
          }
          Frame& obj = st[st.size() - 2];
          if (declared >= 0) {
            if (!(f.mask >> declared & 1)) return;  // already seen, or its schema is false
            obj.mask |= uint64_t{1} << declared;
          } else if (f.node->additional == nullptr) {
            return;
          }
          obj.prop = declared;
          st.pop_back();
          out.push_back(std::move(st));
          return;
        }
        uint64_t mask = 0, mask2 = 0;
        for (size_t i = 0; i < names.size(); ++i) {
          const bool match = names[i].size() > f.count && static_cast<uint8_t>(names[i][f.count]) == c;
          if (match && (f.mask >> i & 1)) mask |= uint64_t{1} << i;
          if (match && (f.mask2 >> i & 1)) mask2 |= uint64_t{1} << i;
        }
        if (mask == 0 && f.node->additional == nullptr) return;
        f.mask = mask;
        f.mask2 = mask2;
        ++f.count;
        out.push_back(std::move(st));
        return;
      }
      case Kind::kObject: {
        if (ws) {
          if (++f.ws > kMaxWhitespaceRun) return;
          out.push_back(std::move(st));
          return;
        }
        f.ws = 0;
        const bool may_close = (f.node->required & ~f.mask) == 0;
        if (f.phase == kObjColon) {
          if (c != ':') return;
          f.phase = kObjAfterValue;
          const SchemaNode* value = f.prop >= 0 ? f.node->prop_nodes[static_cast<size_t>(f.prop)] : f.node->additional;
          st.push_back(ValueFrame(value));
        } else if (c == '}' && f.phase != kObjNeedKey) {
          if (!may_close) return;
          st.pop_back();
        } else if (c == ',' && f.phase == kObjAfterValue) {
          if (!CanAddKey(f)) return;
          f.phase = kObjNeedKey;
        } else if (c == '"' && (f.phase == kObjFirst || f.phase == kObjNeedKey)) {
          if (!CanAddKey(f)) return;
          f.phase = kObjColon;
          st.push_back(KeyFrame(f));
        } else {
          return;
        }
        out.push_back(std::move(st));
        return;
      }
      case Kind::kArray: {
        if (ws) {
          if (++f.ws > kMaxWhitespaceRun) return;
          out.push_back(std::move(st));
          return;
        }
        f.ws = 0;
        if (c == ']' && f.phase != kArrNeedValue) {
          if (f.count < f.node->min_items) return;
          st.pop_back();
          out.push_back(std::move(st));
          return;
        }
        if (f.phase == kArrAfterValue) {
          if (c != ',' || f.count >= f.node->max_items) return;
          f.phase = kArrNeedValue;
          out.push_back(std::move(st));
          return;
        }
        if (f.count >= f.node->max_items) return;
        ++f.count;
        f.phase = kArrAfterValue;
        st.push_back(ValueFrame(f.node->items));
        continue;  // `c` starts the item
      }
      case Kind::kLiteral: break;  // handled above
    }
    return;
  }
}

void AddUnique(std::vector<Stack>& alts, size_t from) {
  // Drop duplicates among alts[from..] and keep at most kMaxAlternatives.
  size_t keep = from;
  for (size_t i = from; i < alts.size(); ++i) {
    bool dup = false;
    for (size_t j = from; j < keep && !dup; ++j) dup = alts[j] == alts[i];
    if (!dup && keep - from < static_cast<size_t>(kMaxAlternatives)) {
      if (keep != i) alts[keep] = std::move(alts[i]);
      ++keep;
    }
  }
  alts.resize(keep);
}

std::optional<std::string> MinValue(const SchemaNode* node, int depth);

// The shortest of `a` and `b` (either may be absent).
std::optional<std::string> Shorter(std::optional<std::string> a, std::optional<std::string> b) {
  if (!a) return b;
  if (!b) return a;
  return b->size() < a->size() ? b : a;
}

// "name":value for property i of `node`.
std::optional<std::string> Member(const SchemaNode* node, int i, int depth) {
  const SchemaNode* value = i >= 0 ? node->prop_nodes[static_cast<size_t>(i)] : node->additional;
  if (value == nullptr) return std::nullopt;
  auto v = MinValue(value, depth + 1);
  if (!v) return std::nullopt;
  return "\"" + (i >= 0 ? node->prop_names[static_cast<size_t>(i)] : std::string()) + "\":" + *v;
}

// Members for the required properties not in `seen`, then "}". `comma`: a member precedes.
std::optional<std::string> CloseObject(const SchemaNode* node, uint64_t seen, bool comma, int depth) {
  std::string out;
  for (size_t i = 0; i < node->prop_names.size(); ++i) {
    if (!(node->required >> i & 1) || (seen >> i & 1)) continue;
    auto m = Member(node, static_cast<int>(i), depth);
    if (!m) return std::nullopt;
    out += (comma ? "," : "") + *m;
    comma = true;
  }
  return out + "}";
}

std::optional<std::string> CloseArray(const SchemaNode* node, uint32_t count, bool comma, int depth) {
  std::string out;
  for (; count < node->min_items; ++count) {
    auto v = MinValue(node->items, depth + 1);
    if (!v) return std::nullopt;
    out += (comma ? "," : "") + *v;
    comma = true;
  }
  return out + "]";
}

// The shortest JSON text of a value of `node`.
std::optional<std::string> MinValue(const SchemaNode* node, int depth) {
  if (node == nullptr || depth > 32) return std::nullopt;
  std::optional<std::string> best;
  if (!node->any_of.empty()) {
    for (const SchemaNode* alt : node->any_of) best = Shorter(best, MinValue(alt, depth + 1));
    return best;
  }
  if (node->has_literals) {
    for (const std::string& lit : node->literals) best = Shorter(best, lit);
    return best;
  }
  const uint8_t t = node->types;
  if (t & (kNumber | kInteger)) return std::string("0");
  if (t & kNull) best = Shorter(best, std::string("null"));
  if (t & kBoolean) best = Shorter(best, std::string("true"));
  if (t & kString) best = Shorter(best, "\"" + std::string(node->min_length, 'a') + "\"");
  if (t & kArray) {
    auto close = CloseArray(node, 0, false, depth);
    if (close) best = Shorter(best, "[" + *close);
  }
  if (t & kObject) {
    auto close = CloseObject(node, 0, false, depth);
    if (close) best = Shorter(best, "{" + *close);
  }
  return best;
}

// The text that closes every frame of `st`, innermost first.
std::optional<std::string> CloseStack(Stack st) {
  std::string out;
  int resolved_prop = -2;  // a key closed below resolves its object's property (-1: additional)
  while (!st.empty()) {
    Frame f = st.back();
    st.pop_back();
    switch (f.kind) {
      case Kind::kLiteral: out += f.lit->substr(f.count); break;
      case Kind::kNumber:
        if (!NumberAccepting(f.phase)) out += "0";
        break;
      case Kind::kString:
      case Kind::kKey: {
        out += std::string(f.hex, '0');
        if (f.phase == kStrEscape) out += "n";
        out += std::string(f.utf8, '\xA0');
        if (f.kind == Kind::kString) {
          if (f.count < f.node->min_length) out += std::string(f.node->min_length - f.count, 'a');
          out += "\"";
          break;
        }
        if (f.node->additional != nullptr) {
          resolved_prop = -1;
          // The key so far may equal a declared name: then it is that property.
          for (size_t i = 0; i < f.node->prop_names.size(); ++i) {
            if ((f.mask2 >> i & 1) && f.node->prop_names[i].size() == f.count) resolved_prop = static_cast<int>(i);
          }
          out += "\"";
          break;
        }
        int best = -1;
        for (size_t i = 0; i < f.node->prop_names.size(); ++i) {
          if ((f.mask >> i & 1) && (best < 0 || f.node->prop_names[i].size() < f.node->prop_names[static_cast<size_t>(best)].size())) {
            best = static_cast<int>(i);
          }
        }
        if (best < 0) return std::nullopt;
        out += f.node->prop_names[static_cast<size_t>(best)].substr(f.count) + "\"";
        resolved_prop = best;
        break;
      }
      case Kind::kValue: {
        auto v = MinValue(f.node, 0);
        if (!v) return std::nullopt;
        out += *v;
        break;
      }
      case Kind::kObject: {
        uint64_t seen = f.mask;
        int prop = f.prop;
        if (resolved_prop != -2) {
          prop = resolved_prop;
          if (prop >= 0) seen |= uint64_t{1} << prop;
          resolved_prop = -2;
        }
        bool comma = f.phase == kObjAfterValue;
        if (f.phase == kObjColon) {
          const SchemaNode* value = prop >= 0 ? f.node->prop_nodes[static_cast<size_t>(prop)] : f.node->additional;
          auto v = MinValue(value, 0);
          if (!v) return std::nullopt;
          out += ":" + *v;
          comma = true;
        } else if (f.phase == kObjNeedKey && (f.node->required & ~seen) == 0) {
          // A comma was written: one more member, the shortest available.
          std::optional<std::string> best;
          for (size_t i = 0; i < f.node->prop_names.size(); ++i) {
            if (!(seen >> i & 1)) best = Shorter(best, Member(f.node, static_cast<int>(i), 0));
          }
          if (f.node->additional != nullptr) best = Shorter(best, Member(f.node, -1, 0));
          if (!best) return std::nullopt;
          out += *best;
          comma = true;
        }
        auto close = CloseObject(f.node, seen, comma, 0);
        if (!close) return std::nullopt;
        out += *close;
        break;
      }
      case Kind::kArray: {
        uint32_t count = f.count;
        bool comma = f.phase == kArrAfterValue;
        if (f.phase == kArrNeedValue) {
          auto v = MinValue(f.node->items, 0);
          if (!v) return std::nullopt;
          out += *v;
          ++count;
          comma = true;
        }
        auto close = CloseArray(f.node, count, comma, 0);
        if (!close) return std::nullopt;
        out += *close;
        break;
      }
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> JsonMatcher::ClosingText() const {
  std::optional<std::string> best;
  for (const Stack& st : alts_) {
    auto text = CloseStack(st);
    if (!text || (best && text->size() >= best->size())) continue;
    JsonMatcher probe = *this;
    if (probe.Accept(*text) && probe.IsComplete()) best = std::move(text);
  }
  return best;
}

namespace {

// Whether `bytes` is plain string content: valid in a JSON string from its normal state, ending in
// it, without escapes. Counts its code points (the string frame's kCharStart steps).
bool PlainStringContent(std::string_view bytes, uint32_t* code_points) {
  Frame f;
  f.kind = Kind::kString;
  uint32_t n = 0;
  for (char ch : bytes) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == '\\') return false;
    switch (StringByte(f, c)) {
      case StrStep::kReject:
      case StrStep::kClose: return false;
      case StrStep::kCharStart: ++n; break;
      case StrStep::kContent: break;
    }
  }
  *code_points = n;
  return f.utf8 == 0 && f.phase == kStrNormal && f.hex == 0;
}

}  // namespace

TokenTrie::Trie TokenTrie::Build(std::vector<const Token*> tokens) {
  Trie trie;
  std::sort(tokens.begin(), tokens.end(), [](const Token* a, const Token* b) { return a->bytes < b->bytes; });
  // Insert in sorted order: a node's children are created in byte order, tokens grouped by node.
  trie.nodes.push_back(Node{});
  std::vector<std::pair<int32_t, uint32_t>> token_node;  // (id, node)
  std::vector<uint32_t> path = {0};                      // nodes along the previous token's bytes
  std::string_view prev;
  std::vector<uint32_t> last_child(1, 0);
  for (const Token* t : tokens) {
    size_t common = 0;
    while (common < prev.size() && common < t->bytes.size() && prev[common] == t->bytes[common]) ++common;
    path.resize(common + 1);
    for (size_t d = common; d < t->bytes.size(); ++d) {
      const uint32_t parent = path[d];
      const auto id = static_cast<uint32_t>(trie.nodes.size());
      Node n;
      n.byte = static_cast<uint8_t>(t->bytes[d]);
      trie.nodes.push_back(n);
      last_child.push_back(0);
      if (last_child[parent] == 0) trie.nodes[parent].first_child = id;
      else trie.nodes[last_child[parent]].next_sibling = id;
      last_child[parent] = id;
      path.push_back(id);
    }
    token_node.emplace_back(t->id, path.back());
    trie.max_depth = std::max(trie.max_depth, t->bytes.size());
    prev = t->bytes;
  }
  // Group token ids by node (tokens with equal bytes share one).
  std::stable_sort(token_node.begin(), token_node.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  for (size_t i = 0; i < token_node.size();) {
    Node& n = trie.nodes[token_node[i].second];
    n.first_token = static_cast<uint32_t>(trie.ids.size());
    const uint32_t node = token_node[i].second;
    for (; i < token_node.size() && token_node[i].second == node; ++i) trie.ids.push_back(token_node[i].first);
    n.end_token = static_cast<uint32_t>(trie.ids.size());
  }
  return trie;
}

TokenTrie::TokenTrie(std::vector<Token> tokens, int32_t n_vocab)
    : plain_mask_(static_cast<size_t>(std::max(n_vocab, 0)), 0), n_vocab_(n_vocab) {
  std::vector<const Token*> all, special;
  std::vector<Token> plain_tokens;
  for (auto& t : tokens) {
    if (t.bytes.empty() || t.id < 0 || t.id >= n_vocab) continue;
    if (t.control) control_.push_back(std::move(t));
  }
  for (const Token& t : tokens) {
    if (t.bytes.empty() || t.id < 0 || t.id >= n_vocab || t.control) continue;
    all.push_back(&t);
    uint32_t code_points = 0;
    if (!PlainStringContent(t.bytes, &code_points)) {
      special.push_back(&t);
      continue;
    }
    PlainToken p;
    p.id = t.id;
    p.code_points = code_points;
    p.head_len = static_cast<uint8_t>(std::min<size_t>(t.bytes.size(), sizeof(p.head)));
    std::copy_n(t.bytes.begin(), p.head_len, p.head);
    plain_.push_back(p);
    plain_mask_[static_cast<size_t>(t.id)] = 1;
    max_plain_code_points_ = std::max(max_plain_code_points_, code_points);
  }
  std::stable_sort(plain_.begin(), plain_.end(),
                   [](const PlainToken& a, const PlainToken& b) { return a.code_points < b.code_points; });
  first_offset_.assign(257, 0);
  for (const PlainToken& p : plain_) ++first_offset_[p.head[0] + 1];
  for (size_t b = 1; b < first_offset_.size(); ++b) first_offset_[b] += first_offset_[b - 1];
  by_first_.resize(plain_.size());
  std::vector<uint32_t> fill(first_offset_.begin(), first_offset_.end() - 1);
  for (size_t i = 0; i < plain_.size(); ++i) by_first_[fill[plain_[i].head[0]]++] = static_cast<uint32_t>(i);
  all_ = Build(std::move(all));
  special_ = Build(std::move(special));
}

JsonMatcher::JsonMatcher(std::shared_ptr<const JsonSchema> schema, MatcherOptions options)
    : JsonMatcher(std::vector<MatcherBranch>{MatcherBranch{std::move(schema), std::move(options)}}) {}

JsonMatcher::JsonMatcher(std::vector<MatcherBranch> branches)
    : branches_(std::make_shared<const std::vector<MatcherBranch>>(std::move(branches))) {
  for (const MatcherBranch& b : *branches_) {
    if (alts_.size() >= static_cast<size_t>(kMaxAlternatives)) break;  // REQUIRES says it cannot happen
    Stack st;
    if (!b.wrapper.suffix.empty()) st.push_back(LiteralFrame(&b.wrapper.suffix, true));
    st.push_back(ValueFrame(b.schema->root()));
    if (!b.wrapper.prefix.empty()) st.push_back(LiteralFrame(&b.wrapper.prefix, true));
    alts_.push_back(std::move(st));
  }
  AddUnique(alts_, 0);
}

bool JsonMatcher::Accept(std::string_view bytes, bool control) {
  std::vector<Stack> cur = alts_, next;
  for (char ch : bytes) {
    next.clear();
    for (const Stack& s : cur) Feed(s, static_cast<uint8_t>(ch), control, next);
    AddUnique(next, 0);
    if (next.empty()) return false;
    cur.swap(next);
  }
  alts_ = std::move(cur);
  return true;
}

bool JsonMatcher::IsComplete() const {
  for (const Stack& s : alts_) {
    if (s.empty()) return true;
    if (s.size() == 1 && s[0].kind == Kind::kNumber && NumberAccepting(s[0].phase)) return true;
  }
  return false;
}

bool JsonMatcher::CanContinue() const {
  return std::any_of(alts_.begin(), alts_.end(), [](const Stack& s) { return !s.empty(); });
}

void JsonMatcher::Walk(const TokenTrie::Trie& trie, uint32_t node, size_t depth,
                       std::vector<std::vector<Stack>>& scratch, std::vector<uint8_t>& allowed) const {
  for (uint32_t child = trie.nodes[node].first_child; child != 0; child = trie.nodes[child].next_sibling) {
    const TokenTrie::Node& n = trie.nodes[child];
    std::vector<Stack>& next = scratch[depth + 1];
    next.clear();
    for (const Stack& s : scratch[depth]) Feed(s, n.byte, false, next);
    if (next.empty()) continue;
    AddUnique(next, 0);
    for (uint32_t i = n.first_token; i < n.end_token; ++i) allowed[static_cast<size_t>(trie.ids[i])] = 1;
    Walk(trie, child, depth + 1, scratch, allowed);
  }
}

bool JsonMatcher::InsideFreeStrings() const {
  return std::all_of(alts_.begin(), alts_.end(), [](const Stack& s) {
    if (s.empty()) return false;
    const Frame& f = s.back();
    return f.kind == Kind::kString || (f.kind == Kind::kKey && f.node->additional != nullptr);
  });
}

void JsonMatcher::AddPlainStringTokens(const TokenTrie& trie, std::vector<uint8_t>& allowed) const {
  // Plain tokens never leave the string nor create alternatives: a token is valid iff some
  // alternative accepts its first bytes (what completes a pending escape) and has room for the
  // code points after them. Pending UTF-8 continuation bytes: no plain token (they begin with a
  // complete code point).
  uint64_t normal_room = 0;  // most code points any alternative in the normal state still takes
  bool any_normal = false;
  for (const Stack& s : alts_) {
    const Frame& f = s.back();
    // Strings: max_length - count code points; keys are unlimited.
    const uint64_t room = f.kind == Kind::kKey ? UINT64_MAX : uint64_t{f.node->max_length} - f.count;
    if (f.utf8 > 0) continue;
    if (f.hex == 0 && f.phase == kStrNormal) {
      any_normal = true;
      normal_room = std::max(normal_room, room);
      continue;
    }
    // After a backslash (the escape letter, or 'u' and up to 4 hex digits), or inside \uXXXX:
    // only tokens whose first byte can come next, grouped by first byte.
    const std::string_view firsts = f.hex > 0 ? std::string_view("0123456789abcdefABCDEF") : std::string_view("/bfnrtu");
    for (char first : firsts) {
      const auto b = static_cast<uint8_t>(first);
      for (uint32_t k = trie.first_offset_[b]; k < trie.first_offset_[b + 1u]; ++k) {
        const TokenTrie::PlainToken& p = trie.plain_[trie.by_first_[k]];
        uint32_t lead = 1;  // ASCII bytes that complete the escape
        if (f.hex > 0) {
          lead = std::min<uint32_t>(f.hex, p.head_len);
          if (!std::all_of(p.head, p.head + lead, [](uint8_t c) { return IsHex(c); })) continue;
        } else if (b == 'u') {
          lead = std::min<uint32_t>(5, p.head_len);
          if (!std::all_of(p.head + 1, p.head + lead, [](uint8_t h) { return IsHex(h); })) continue;
        }
        if (p.code_points - lead <= room) allowed[static_cast<size_t>(p.id)] = 1;
      }
    }
  }
  if (!any_normal) return;
  if (normal_room >= trie.max_plain_code_points_) {
    for (size_t i = 0; i < allowed.size(); ++i) allowed[i] |= trie.plain_mask_[i];
    return;
  }
  for (const TokenTrie::PlainToken& p : trie.plain_) {
    if (p.code_points > normal_room) break;
    allowed[static_cast<size_t>(p.id)] = 1;
  }
}

void JsonMatcher::AllowedTokens(const TokenTrie& trie, std::vector<uint8_t>* allowed) const {
  allowed->assign(static_cast<size_t>(trie.n_vocab()), 0);
  const bool strings = InsideFreeStrings();
  const TokenTrie::Trie& walked = strings ? trie.special_ : trie.all_;
  if (strings) AddPlainStringTokens(trie, *allowed);
  std::vector<std::vector<Stack>> scratch(walked.max_depth + 2);
  scratch[0] = alts_;
  Walk(walked, 0, 0, scratch, *allowed);
  // A control token can only continue a wrapper literal that allows them.
  const bool in_wrapper = std::any_of(alts_.begin(), alts_.end(), [](const Stack& s) {
    return !s.empty() && s.back().kind == Kind::kLiteral && s.back().flag;
  });
  if (!in_wrapper) return;
  for (const TokenTrie::Token& t : trie.control_) {
    JsonMatcher probe = *this;
    if (probe.Accept(t.bytes, /*control=*/true)) (*allowed)[static_cast<size_t>(t.id)] = 1;
  }
}

}  // namespace dv::grammar
