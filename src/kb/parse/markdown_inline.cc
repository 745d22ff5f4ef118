#include "kb/parse/markdown_inline.h"

#include <charconv>
#include <unordered_map>
#include <vector>

#include "common/utf8.h"

namespace dv::kb::internal {
namespace {

bool IsAsciiPunct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}
bool IsSpaceOrEdge(std::string_view s, size_t i) {
  return i >= s.size() || s[i] == ' ' || s[i] == '\t' || s[i] == '\n';
}
bool IsWordByte(std::string_view s, size_t i) {
  if (i >= s.size()) return false;
  unsigned char c = static_cast<unsigned char>(s[i]);
  return std::isalnum(c) || c >= 0x80;
}

// match[i] = index of the bracket closing the one at i, or npos.
std::vector<size_t> MatchPairs(std::string_view s, char open, char close) {
  std::vector<size_t> match(s.size(), std::string_view::npos);
  std::vector<size_t> stack;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == open) {
      stack.push_back(i);
    } else if (s[i] == close && !stack.empty()) {
      match[stack.back()] = i;
      stack.pop_back();
    }
  }
  return match;
}

// For each backtick run start: the start of the next run of equal length, or npos.
std::unordered_map<size_t, std::pair<size_t, size_t>> MatchCodeSpans(std::string_view s) {
  struct Run {
    size_t pos, len;
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\\') {
      i += 2;
      continue;
    }
    if (s[i] != '`') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && s[j] == '`') ++j;
    runs.push_back({i, j - i});
    i = j;
  }
  std::unordered_map<size_t, std::pair<size_t, size_t>> spans;  // open pos → (close pos, len)
  std::unordered_map<size_t, size_t> open_by_len;               // len → open run pos
  for (const Run& r : runs) {
    auto it = open_by_len.find(r.len);
    if (it != open_by_len.end()) {
      spans[it->second] = {r.pos, r.len};
      open_by_len.erase(it);
    } else {
      open_by_len[r.len] = r.pos;
    }
  }
  return spans;
}

}  // namespace

bool AppendHtmlEntity(std::string_view entity, std::string& out) {
  static const std::unordered_map<std::string_view, std::string_view> kNamed = {
      {"amp", "&"},   {"lt", "<"},    {"gt", ">"},     {"quot", "\""}, {"apos", "'"},   {"nbsp", " "},
      {"copy", "©"},  {"reg", "®"},   {"mdash", "—"},  {"ndash", "–"}, {"hellip", "…"}, {"middot", "·"},
      {"ldquo", "“"}, {"rdquo", "”"}, {"lsquo", "‘"},  {"rsquo", "’"}, {"times", "×"},  {"deg", "°"},
      {"yen", "¥"},   {"euro", "€"},  {"sect", "§"},   {"para", "¶"},  {"trade", "™"},  {"bull", "•"},
      {"ensp", " "},  {"emsp", " "},  {"thinsp", " "}, {"laquo", "«"}, {"raquo", "»"},  {"pound", "£"}};
  if (entity.size() >= 2 && entity[0] == '#') {
    uint32_t cp = 0;
    const char* first = entity.data() + 1;
    const char* last = entity.data() + entity.size();
    int base = 10;
    if (*first == 'x' || *first == 'X') {
      ++first;
      base = 16;
    }
    if (first == last || last - first > 8) return false;
    auto [ptr, ec] = std::from_chars(first, last, cp, base);
    if (ec != std::errc() || ptr != last) return false;
    utf8::Append(out, cp == 0 ? utf8::kReplacementChar : static_cast<char32_t>(cp));
    return true;
  }
  auto it = kNamed.find(entity);
  if (it == kNamed.end()) return false;
  out.append(it->second);
  return true;
}

std::string StripMarkdownInline(std::string_view s) {
  const std::vector<size_t> bracket = MatchPairs(s, '[', ']');
  const std::vector<size_t> paren = MatchPairs(s, '(', ')');
  const auto code_spans = MatchCodeSpans(s);
  // Positions where a link's "](dest)" or "][ref]" tail starts → where it ends (exclusive).
  std::unordered_map<size_t, size_t> link_tail;

  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (auto tail = link_tail.find(i); tail != link_tail.end()) {
      i = tail->second;
      continue;
    }
    if (c == '\\' && i + 1 < s.size() && IsAsciiPunct(s[i + 1])) {
      out.push_back(s[i + 1]);
      i += 2;
      continue;
    }
    if (c == '`') {
      auto span = code_spans.find(i);
      size_t len = 0;
      while (i + len < s.size() && s[i + len] == '`') ++len;
      if (span == code_spans.end()) {
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
      std::string_view content = s.substr(i + len, span->second.first - i - len);
      if (content.size() >= 2 && content.front() == ' ' && content.back() == ' ') {
        content = content.substr(1, content.size() - 2);
      }
      out.append(content);
      i = span->second.first + span->second.second;
      continue;
    }
    bool image = c == '!' && i + 1 < s.size() && s[i + 1] == '[';
    if (c == '[' || image) {
      size_t open = image ? i + 1 : i;
      size_t close = bracket[open];
      if (close != std::string_view::npos && close + 1 < s.size()) {
        size_t after = close + 1;
        size_t end = std::string_view::npos;
        if (s[after] == '(' && paren[after] != std::string_view::npos) end = paren[after] + 1;
        if (s[after] == '[' && bracket[after] != std::string_view::npos) end = bracket[after] + 1;
        if (end != std::string_view::npos) {
          link_tail[close] = end;
          i = open + 1;
          continue;
        }
      }
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '<') {
      size_t close = s.find('>', i + 1);
      if (s.substr(i, 4) == "<!--") {
        size_t end = s.find("-->", i + 4);
        if (end != std::string_view::npos) {
          i = end + 3;
          continue;
        }
      }
      if (close != std::string_view::npos && close - i < 2048) {
        std::string_view inner = s.substr(i + 1, close - i - 1);
        bool autolink = inner.find("://") != std::string_view::npos || inner.substr(0, 7) == "mailto:" ||
                        (inner.find('@') != std::string_view::npos && inner.find(' ') == std::string_view::npos);
        if (autolink && inner.find(' ') == std::string_view::npos) {
          out.append(inner);
          i = close + 1;
          continue;
        }
        bool tag = !inner.empty() &&
                   (std::isalpha(static_cast<unsigned char>(inner[0])) ||
                    (inner[0] == '/' && inner.size() > 1 && std::isalpha(static_cast<unsigned char>(inner[1]))));
        if (tag) {
          i = close + 1;
          continue;
        }
      }
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '*' || c == '_' || c == '~') {
      size_t len = 0;
      while (i + len < s.size() && s[i + len] == c) ++len;
      bool before_space = i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\n';
      bool after_space = IsSpaceOrEdge(s, i + len);
      bool is_marker = !(before_space && after_space);
      if (c == '_' && i > 0 && IsWordByte(s, i - 1) && IsWordByte(s, i + len)) is_marker = false;
      if (c == '~' && len != 2) is_marker = false;
      if (!is_marker) out.append(s.substr(i, len));
      i += len;
      continue;
    }
    if (c == '&') {
      size_t semi = s.find(';', i + 1);
      if (semi != std::string_view::npos && semi - i <= 10 && AppendHtmlEntity(s.substr(i + 1, semi - i - 1), out)) {
        i = semi + 1;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace dv::kb::internal
