// Markdown block structure (CommonMark + GFM tables subset) → Blocks.
//
// Recognised: YAML front matter (key: value pairs go to metadata), ATX and setext headings, fenced
// and indented code, block quotes, bullet and ordered list items with nesting, pipe tables,
// thematic breaks, link reference definitions (dropped), HTML comments (dropped). Everything else
// is paragraph text. Inline markup is stripped by StripMarkdownInline.
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/markdown_inline.h"

namespace dv::kb::internal {
namespace {

// Columns of leading whitespace (tab = to next multiple of 4) and the byte offset after it.
struct Indent {
  int columns = 0;
  size_t bytes = 0;
};
Indent MeasureIndent(std::string_view line) {
  Indent in;
  while (in.bytes < line.size() && (line[in.bytes] == ' ' || line[in.bytes] == '\t')) {
    in.columns = line[in.bytes] == '\t' ? (in.columns / 4 + 1) * 4 : in.columns + 1;
    ++in.bytes;
  }
  return in;
}

bool IsBlank(std::string_view line) {
  return TrimAscii(line).empty();
}

// "```lang" / "~~~": returns fence char and length, or 0.
std::pair<char, size_t> FenceOpen(std::string_view rest) {
  if (rest.empty() || (rest[0] != '`' && rest[0] != '~')) return {0, 0};
  size_t n = 0;
  while (n < rest.size() && rest[n] == rest[0]) ++n;
  if (n < 3) return {0, 0};
  if (rest[0] == '`' && rest.substr(n).find('`') != std::string_view::npos) return {0, 0};
  return {rest[0], n};
}

// ATX heading level (1..6) and its text, or level 0.
std::pair<int, std::string_view> AtxHeading(std::string_view rest) {
  size_t n = 0;
  while (n < rest.size() && rest[n] == '#') ++n;
  if (n == 0 || n > 6) return {0, {}};
  if (n < rest.size() && rest[n] != ' ' && rest[n] != '\t') return {0, {}};
  std::string_view text = TrimAscii(rest.substr(n));
  // Optional closing sequence: spaces then #'s.
  size_t e = text.size();
  while (e > 0 && text[e - 1] == '#') --e;
  if (e == 0) {
    text = {};
  } else if (e < text.size() && (text[e - 1] == ' ' || text[e - 1] == '\t')) {
    text = TrimAscii(text.substr(0, e));
  }
  return {static_cast<int>(n), text};
}

// A line of only c (and spaces), at least `min` of c.
bool IsRuleOf(std::string_view rest, char c, size_t min) {
  size_t count = 0;
  for (char ch : TrimAscii(rest)) {
    if (ch == c) {
      ++count;
    } else if (ch != ' ' && ch != '\t') {
      return false;
    }
  }
  return count >= min;
}
bool IsSetextUnderline(std::string_view rest, char c) {
  std::string_view t = TrimAscii(rest);
  if (t.empty()) return false;
  for (char ch : t)
    if (ch != c) return false;
  return true;
}

// List marker: returns marker width including the following spaces (0 when not a marker).
size_t ListMarker(std::string_view rest) {
  size_t n = 0;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '*' || rest[0] == '+')) {
    n = 1;
  } else {
    while (n < rest.size() && n < 9 && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 0 || n >= rest.size() || (rest[n] != '.' && rest[n] != ')')) return 0;
    ++n;
  }
  if (n == rest.size()) return n;  // empty item
  if (rest[n] != ' ' && rest[n] != '\t') return 0;
  size_t spaces = 0;
  while (n + spaces < rest.size() && rest[n + spaces] == ' ' && spaces < 4) ++spaces;
  return n + (spaces == 0 ? 1 : spaces);
}

std::vector<std::string> SplitTableRow(std::string_view row) {
  row = TrimAscii(row);
  if (!row.empty() && row.front() == '|') row.remove_prefix(1);
  if (!row.empty() && row.back() == '|' && (row.size() < 2 || row[row.size() - 2] != '\\')) {
    row.remove_suffix(1);
  }
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cell.push_back('|');
      ++i;
    } else if (row[i] == '|') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else {
      cell.push_back(row[i]);
    }
  }
  cells.push_back(std::move(cell));
  for (std::string& c : cells) c = CollapseWhitespace(StripMarkdownInline(TrimAscii(c)));
  return cells;
}

bool IsTableDelimiterRow(std::string_view line) {
  std::string_view t = TrimAscii(line);
  if (t.find('-') == std::string_view::npos) return false;
  if (t.find('|') == std::string_view::npos) return false;
  for (char c : t)
    if (c != '|' && c != '-' && c != ':' && c != ' ' && c != '\t') return false;
  return true;
}

// "[label]: url" (dropped). Footnote definitions "[^1]: text" are content and stay paragraphs.
bool IsLinkReferenceDefinition(std::string_view rest) {
  if (rest.empty() || rest[0] != '[' || rest.substr(0, 2) == "[^") return false;
  size_t close = rest.find("]:");
  return close != std::string_view::npos && close > 1 && rest.substr(1, close - 1).find(']') == std::string_view::npos;
}

class MarkdownBlockParser {
 public:
  MarkdownBlockParser(ParsedDocument& doc) : doc_(doc) {}

  void Run(std::string_view text) {
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos <= text.size();) {
      size_t nl = text.find('\n', pos);
      size_t end = nl == std::string_view::npos ? text.size() : nl;
      lines.push_back(text.substr(pos, end - pos));
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    size_t i = SkipFrontMatter(lines);
    for (; i < lines.size(); ++i) {
      std::string cleaned;
      std::string_view line = lines[i];
      if (!fence_char_) {
        cleaned = RemoveComments(line);
        line = cleaned;
      }
      if (fence_char_) {
        FencedLine(line);
      } else if (table_open_) {
        if (IsBlank(line) || line.find('|') == std::string_view::npos) {
          CloseTable();
          Line(lines, i, line);
        } else {
          AddTableRow(line);
        }
      } else {
        Line(lines, i, line);
      }
    }
    if (fence_char_) Emit(BlockKind::kCode, 0, code_);
    CloseAll();
  }

 private:
  size_t SkipFrontMatter(const std::vector<std::string_view>& lines) {
    if (lines.empty() || TrimAscii(lines[0]) != "---") return 0;
    for (size_t i = 1; i < lines.size() && i < 200; ++i) {
      std::string_view t = TrimAscii(lines[i]);
      if (t == "---" || t == "...") {
        for (size_t j = 1; j < i; ++j) {
          size_t colon = lines[j].find(':');
          if (colon == std::string_view::npos || lines[j].empty() || lines[j][0] == ' ') continue;
          std::string key(TrimAscii(lines[j].substr(0, colon)));
          std::string_view value = TrimAscii(lines[j].substr(colon + 1));
          if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
          }
          if (!key.empty() && !value.empty()) doc_.metadata[key] = std::string(value);
        }
        return i + 1;
      }
    }
    return 0;
  }

  std::string RemoveComments(std::string_view line) {
    std::string out;
    size_t pos = 0;
    while (pos < line.size()) {
      if (in_comment_) {
        size_t end = line.find("-->", pos);
        if (end == std::string_view::npos) return out;
        in_comment_ = false;
        pos = end + 3;
        continue;
      }
      size_t start = line.find("<!--", pos);
      if (start == std::string_view::npos) {
        out.append(line.substr(pos));
        break;
      }
      out.append(line.substr(pos, start - pos));
      in_comment_ = true;
      pos = start + 4;
    }
    // Keep the line blank-looking only if it was blank; a comment-only line is dropped entirely.
    return out;
  }

  void Line(const std::vector<std::string_view>& lines, size_t i, std::string_view line) {
    if (IsBlank(line)) {
      FlushParagraph();
      FlushQuote();
      if (!code_.empty() || indented_code_) code_.append("\n");
      after_blank_ = true;
      return;
    }
    Indent indent = MeasureIndent(line);
    std::string_view rest = line.substr(indent.bytes);

    // Indented code (not inside a paragraph or list).
    if (indented_code_ && indent.columns < 4) CloseIndentedCode();
    if (indented_code_) {
      code_.append(StripColumns(line, 4)).append("\n");
      return;
    }

    // Inside a list: continuation text or a nested/sibling item.
    size_t marker = indent.columns < 4 || !list_.empty() ? ListMarker(rest) : 0;
    if (!list_.empty() && !marker) {
      bool continues = after_blank_ ? indent.columns >= list_.back().content_col : !StartsBlock(rest, indent);
      if (continues) {
        if (after_blank_)
          item_.append("\n");
        else
          item_.push_back('\n');
        item_.append(TrimAscii(rest));
        after_blank_ = false;
        return;
      }
      CloseList();
    }
    after_blank_ = false;

    if (marker && !(paragraph_.size() && list_.empty() && IsRuleOf(rest, '-', 1) && IsSetextUnderline(rest, '-'))) {
      if (!(IsRuleOf(rest, '*', 3) || IsRuleOf(rest, '-', 3))) {
        StartListItem(indent.columns, marker, rest.substr(std::min(marker, rest.size())));
        return;
      }
    }
    if (indent.columns >= 4 && paragraph_.empty() && quote_.empty()) {
      FlushQuote();
      indented_code_ = true;
      code_.clear();
      code_.append(StripColumns(line, 4)).append("\n");
      return;
    }
    if (auto [c, n] = FenceOpen(rest); c) {
      FlushAll();
      fence_char_ = c;
      fence_len_ = n;
      fence_indent_ = indent.columns;
      code_.clear();
      return;
    }
    if (auto [level, text] = AtxHeading(rest); level) {
      FlushAll();
      Emit(BlockKind::kHeading, level, StripMarkdownInline(text));
      return;
    }
    if (!paragraph_.empty() && (IsSetextUnderline(rest, '=') || IsSetextUnderline(rest, '-'))) {
      std::string text = paragraph_;
      paragraph_.clear();
      Emit(BlockKind::kHeading, rest[0] == '=' ? 1 : 2, StripMarkdownInline(text));
      return;
    }
    if (IsRuleOf(rest, '*', 3) || IsRuleOf(rest, '-', 3) || IsRuleOf(rest, '_', 3)) {
      FlushAll();
      return;
    }
    if (rest[0] == '>') {
      FlushParagraph();
      while (!rest.empty() && (rest[0] == '>' || rest[0] == ' ' || rest[0] == '\t')) {
        bool marker_char = rest[0] == '>';
        rest.remove_prefix(1);
        if (marker_char && !rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
      }
      if (!quote_.empty()) quote_.push_back('\n');
      quote_.append(rest);
      return;
    }
    if (!quote_.empty()) {  // lazy continuation of a quote paragraph
      quote_.push_back('\n');
      quote_.append(rest);
      return;
    }
    if (paragraph_.empty() && IsLinkReferenceDefinition(rest)) return;
    if (paragraph_.empty() && rest.find('|') != std::string_view::npos && i + 1 < lines.size() &&
        IsTableDelimiterRow(lines[i + 1])) {
      table_open_ = true;
      skip_delimiter_ = true;
      AddTableRow(rest);
      return;
    }
    if (!paragraph_.empty()) paragraph_.push_back('\n');
    // A trailing backslash or two spaces is a hard break; the line break is kept either way.
    std::string_view body = rest;
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.remove_suffix(1);
    if (!body.empty() && body.back() == '\\') body.remove_suffix(1);
    paragraph_.append(body);
  }

  bool StartsBlock(std::string_view rest, Indent indent) const {
    if (indent.columns >= 4) return false;
    return rest[0] == '>' || rest[0] == '#' || FenceOpen(rest).first || IsRuleOf(rest, '*', 3) ||
           IsRuleOf(rest, '-', 3) || IsRuleOf(rest, '_', 3);
  }

  static std::string_view StripColumns(std::string_view line, int columns) {
    int col = 0;
    size_t b = 0;
    while (b < line.size() && col < columns && (line[b] == ' ' || line[b] == '\t')) {
      col = line[b] == '\t' ? (col / 4 + 1) * 4 : col + 1;
      ++b;
    }
    return line.substr(b);
  }

  void FencedLine(std::string_view line) {
    Indent indent = MeasureIndent(line);
    std::string_view rest = line.substr(indent.bytes);
    if (indent.columns < 4 && !rest.empty() && rest[0] == fence_char_) {
      size_t n = 0;
      while (n < rest.size() && rest[n] == fence_char_) ++n;
      if (n >= fence_len_ && TrimAscii(rest.substr(n)).empty()) {
        if (!code_.empty() && code_.back() == '\n') code_.pop_back();
        Emit(BlockKind::kCode, 0, code_);
        code_.clear();
        fence_char_ = 0;
        return;
      }
    }
    code_.append(StripColumns(line, fence_indent_)).append("\n");
  }

  void StartListItem(int indent_col, size_t marker_width, std::string_view text) {
    FlushParagraph();
    FlushQuote();
    FlushItem();
    int content_col = indent_col + static_cast<int>(marker_width);
    while (!list_.empty() && indent_col < list_.back().content_col) list_.pop_back();
    if (list_.size() >= 32) list_.pop_back();  // deeper nesting is flattened
    list_.push_back({indent_col, content_col});
    item_level_ = static_cast<int>(list_.size());
    item_.assign(TrimAscii(text));
    item_open_ = true;
  }

  void AddTableRow(std::string_view line) {
    if (skip_delimiter_ && table_rows_ == 1) {
      skip_delimiter_ = false;
      return;
    }
    std::vector<std::string> cells = SplitTableRow(line);
    if (!table_.empty()) table_.push_back('\n');
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) table_.append(" | ");
      table_.append(cells[c]);
    }
    ++table_rows_;
  }
  void CloseTable() {
    Emit(BlockKind::kTable, 0, table_);
    table_.clear();
    table_open_ = false;
    table_rows_ = 0;
  }

  void FlushParagraph() {
    if (!paragraph_.empty()) Emit(BlockKind::kParagraph, 0, StripMarkdownInline(paragraph_));
    paragraph_.clear();
  }
  void FlushQuote() {
    if (!quote_.empty()) Emit(BlockKind::kQuote, 0, StripMarkdownInline(quote_));
    quote_.clear();
  }
  void FlushItem() {
    if (item_open_) {
      std::string text = StripMarkdownInline(item_);
      // Task-list checkboxes are markup, not text.
      if (text.rfind("[ ] ", 0) == 0 || text.rfind("[x] ", 0) == 0) text.erase(0, 4);
      Emit(BlockKind::kListItem, item_level_, text);
    }
    item_.clear();
    item_open_ = false;
  }
  void CloseList() {
    FlushItem();
    list_.clear();
  }
  void CloseIndentedCode() {
    while (!code_.empty() && code_.back() == '\n') code_.pop_back();
    Emit(BlockKind::kCode, 0, code_);
    code_.clear();
    indented_code_ = false;
  }
  void FlushAll() {
    FlushParagraph();
    FlushQuote();
    CloseList();
  }
  void CloseAll() {
    if (indented_code_) CloseIndentedCode();
    if (table_open_) CloseTable();
    FlushAll();
  }

  void Emit(BlockKind kind, int level, std::string_view text) {
    std::string t(kind == BlockKind::kCode ? text : TrimAscii(text));
    if (TrimAscii(t).empty()) return;
    Block b;
    b.kind = kind;
    b.level = level;
    b.text = std::move(t);
    doc_.blocks.push_back(std::move(b));
  }

  struct ListLevel {
    int marker_col;
    int content_col;
  };

  ParsedDocument& doc_;
  bool in_comment_ = false;
  char fence_char_ = 0;
  size_t fence_len_ = 0;
  int fence_indent_ = 0;
  bool indented_code_ = false;
  std::string code_;
  std::string paragraph_;
  std::string quote_;
  bool table_open_ = false;
  bool skip_delimiter_ = false;
  size_t table_rows_ = 0;
  std::string table_;
  std::vector<ListLevel> list_;
  std::string item_;
  int item_level_ = 0;
  bool item_open_ = false;
  bool after_blank_ = false;
};

}  // namespace

Status ParseMarkdown(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(std::string text, DecodeTextInput(bytes, options, doc));
  MarkdownBlockParser(doc).Run(text);
  auto title = doc.metadata.find("title");
  if (title != doc.metadata.end()) doc.title = title->second;
  for (const Block& b : doc.blocks) {
    if (!doc.title.empty()) break;
    if (b.kind == BlockKind::kHeading) doc.title = b.text;
  }
  return Status::Ok();
}

}  // namespace dv::kb::internal
