#include "kb/ingest/chunker.h"

#include <algorithm>

#include "common/utf8.h"

namespace dv::kb {

namespace {

bool IsCjk(char32_t c) {
  return (c >= 0x2E80 && c <= 0x2FFF) || (c >= 0x3040 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x3FFFF);
}
bool IsSpace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000 || c == 0xA0; }
bool IsWordChar(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (c >= 0xC0 && c < 0x2E80 && c != 0x3000);
}
bool IsCjkTerminator(char32_t c) {
  return c == U'。' || c == U'！' || c == U'？' || c == U'；' || c == U'…' || c == U'｡';
}
bool IsCloser(char32_t c) {
  return c == U'”' || c == U'’' || c == U'」' || c == U'』' || c == U'）' || c == U'】' || c == U'》' ||
         c == '"' || c == '\'' || c == ')' || c == ']';
}

// A sentence (or line, or hard-cut piece) of the document text.
struct Unit {
  size_t byte_begin, byte_end;
  int64_t cp_begin, cp_end;
  double tokens;
  int section;
  int page;
};

// Splits [begin, end) of `text` (code point offset `cp_base` at `begin`) into sentence units.
void SplitSentences(std::string_view text, size_t begin, size_t end, int64_t cp_base, bool lines_only,
                    int section, int page, std::vector<Unit>* units) {
  size_t start = begin;
  int64_t cp_start = cp_base;
  int64_t cp = cp_base;
  auto flush = [&](size_t stop, int64_t cp_stop) {
    // Trim whitespace on both ends; drop empty units.
    size_t b = start, e = stop;
    int64_t cb = cp_start, ce = cp_stop;
    while (b < e) {
      utf8::Decoded d = utf8::DecodeAt(text, b);
      if (!IsSpace(d.code_point)) break;
      b += static_cast<size_t>(d.length);
      ++cb;
    }
    while (e > b) {
      size_t p = e - 1;
      while (p > b && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
      utf8::Decoded d = utf8::DecodeAt(text, p);
      if (!IsSpace(d.code_point)) break;
      e = p;
      --ce;
    }
    if (b < e) {
      units->push_back(Unit{b, e, cb, ce, EstimateTokens(text.substr(b, e - b)), section, page});
    }
    start = stop;
    cp_start = cp_stop;
  };
  size_t i = begin;
  while (i < end) {
    utf8::Decoded d = utf8::DecodeAt(text, i);
    const char32_t c = d.code_point;
    i += static_cast<size_t>(d.length);
    ++cp;
    bool cut = false;
    if (c == '\n') {
      cut = true;
    } else if (!lines_only) {
      if (IsCjkTerminator(c)) {
        cut = true;
      } else if (c == '.' || c == '!' || c == '?' || c == ';') {
        cut = i >= end || IsSpace(utf8::DecodeAt(text, i).code_point) ||
              IsCloser(utf8::DecodeAt(text, i).code_point);
      }
      if (cut) {
        while (i < end) {
          utf8::Decoded n = utf8::DecodeAt(text, i);
          if (!IsCloser(n.code_point) && !IsCjkTerminator(n.code_point)) break;
          i += static_cast<size_t>(n.length);
          ++cp;
        }
      }
    }
    if (cut) flush(i, cp);
  }
  flush(end, cp);
}

// Cuts a unit longer than `max_tokens` into pieces of at most `max_tokens`.
void HardSplit(std::string_view text, const Unit& u, double max_tokens, std::vector<Unit>* out) {
  size_t b = u.byte_begin;
  int64_t cb = u.cp_begin;
  size_t i = b;
  int64_t cp = cb;
  size_t last_space = 0;
  int64_t last_space_cp = 0;
  while (i < u.byte_end) {
    utf8::Decoded d = utf8::DecodeAt(text, i);
    const size_t next = i + static_cast<size_t>(d.length);
    if (EstimateTokens(text.substr(b, next - b)) > max_tokens && i > b) {
      size_t cut = i;
      int64_t cut_cp = cp;
      if (last_space > b + (i - b) / 2) {
        cut = last_space;
        cut_cp = last_space_cp;
      }
      out->push_back(Unit{b, cut, cb, cut_cp, EstimateTokens(text.substr(b, cut - b)), u.section, u.page});
      b = cut;
      cb = cut_cp;
      i = cut;
      cp = cut_cp;
      last_space = 0;
      continue;
    }
    if (IsSpace(d.code_point)) {
      last_space = next;
      last_space_cp = cp + 1;
    }
    i = next;
    ++cp;
  }
  if (b < u.byte_end) {
    out->push_back(Unit{b, u.byte_end, cb, u.cp_end, EstimateTokens(text.substr(b, u.byte_end - b)),
                        u.section, u.page});
  }
}

}  // namespace

Status ValidateChunkerOptions(const ChunkerOptions& o) {
  if (o.max_tokens < 16 || o.max_tokens > 8192) {
    return InvalidArgument("chunk token budget must be between 16 and 8192, got " + std::to_string(o.max_tokens));
  }
  if (o.overlap_tokens < 0 || o.overlap_tokens >= o.max_tokens / 2) {
    return InvalidArgument("chunk overlap must be between 0 and half the token budget, got " +
                           std::to_string(o.overlap_tokens));
  }
  if (o.tiny_tokens < 0 || o.tiny_tokens >= o.max_tokens) {
    return InvalidArgument("tiny-chunk threshold must be below the token budget");
  }
  return Status::Ok();
}

std::string DocumentText(const ParsedDocument& doc) {
  std::string text;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    if (i > 0) text += '\n';
    text += doc.blocks[i].text;
  }
  return text;
}

double EstimateTokens(std::string_view text) {
  double tokens = 0;
  size_t word_chars = 0;  // length of the word being read; 0 outside words
  // A word costs 1.3 tokens, or one per 4 characters when longer (long words split up).
  auto end_word = [&] {
    if (word_chars > 0) tokens += std::max(1.3, static_cast<double>(word_chars) / 4.0);
    word_chars = 0;
  };
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    const unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      c = b;
      ++i;
    } else {
      utf8::Decoded d = utf8::DecodeAt(text, i);
      c = d.code_point;
      i += static_cast<size_t>(d.length);
    }
    if (IsCjk(c)) {
      end_word();
      tokens += 1;
    } else if (IsWordChar(c)) {
      ++word_chars;
    } else {
      end_word();
      if (!IsSpace(c)) tokens += 0.5;
    }
  }
  end_word();
  return tokens;
}

std::vector<TextChunk> ChunkDocument(const ParsedDocument& doc, const ChunkerOptions& options) {
  const std::string text = DocumentText(doc);
  const double max_tokens = options.max_tokens;

  // Units, with the heading path of every section.
  std::vector<Unit> units;
  std::vector<std::string> section_paths{""};
  std::vector<std::pair<int, std::string>> heading_stack;  // (level, text)
  size_t byte = 0;
  int64_t cp = 0;
  for (size_t bi = 0; bi < doc.blocks.size(); ++bi) {
    const Block& block = doc.blocks[bi];
    if (bi > 0) {
      ++byte;  // the joining '\n'
      ++cp;
    }
    if (block.kind == BlockKind::kHeading) {
      const int level = std::clamp(block.level, 1, 6);
      while (!heading_stack.empty() && heading_stack.back().first >= level) heading_stack.pop_back();
      heading_stack.emplace_back(level, block.text);
      std::string path;
      for (const auto& [l, h] : heading_stack) {
        if (!path.empty()) path += " > ";
        path += h;
      }
      section_paths.push_back(std::move(path));
    }
    const int section = static_cast<int>(section_paths.size()) - 1;
    const bool lines_only = block.kind == BlockKind::kCode || block.kind == BlockKind::kTable;
    std::vector<Unit> sentences;
    SplitSentences(text, byte, byte + block.text.size(), cp, lines_only, section, block.page, &sentences);
    for (const Unit& u : sentences) {
      if (u.tokens > max_tokens) {
        HardSplit(text, u, max_tokens, &units);
      } else {
        units.push_back(u);
      }
    }
    byte += block.text.size();
    cp += static_cast<int64_t>(utf8::CodePointCount(block.text));
  }

  std::vector<TextChunk> chunks;
  auto emit = [&](size_t first, size_t last) {
    TextChunk c;
    c.heading_path = section_paths[static_cast<size_t>(units[last].section)];
    c.page = units[first].page;
    c.char_start = units[first].cp_begin;
    c.char_end = units[last].cp_end;
    c.text = text.substr(units[first].byte_begin, units[last].byte_end - units[first].byte_begin);
    c.tokens = EstimateTokens(c.text);
    chunks.push_back(std::move(c));
  };

  size_t first = 0;
  double tokens = 0;
  bool open = false;
  for (size_t i = 0; i < units.size(); ++i) {
    const Unit& u = units[i];
    if (open && u.section != units[i - 1].section) {
      if (tokens >= options.tiny_tokens || tokens + u.tokens > max_tokens) {
        emit(first, i - 1);
        open = false;
      }
    }
    if (open && tokens + u.tokens > max_tokens) {
      emit(first, i - 1);
      // Overlap: whole sentences from the end of the emitted chunk, same section only.
      size_t j = i;
      double overlap = 0;
      while (j - 1 > first && units[j - 1].section == u.section &&
             overlap + units[j - 1].tokens <= options.overlap_tokens) {
        --j;
        overlap += units[j].tokens;
      }
      if (overlap + u.tokens > max_tokens) {
        j = i;
        overlap = 0;
      }
      first = j;
      tokens = overlap;
    }
    if (!open) {
      first = i;
      tokens = 0;
      open = true;
    }
    tokens += u.tokens;
  }
  if (open) emit(first, units.size() - 1);
  return chunks;
}

}  // namespace dv::kb
