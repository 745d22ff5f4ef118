#include "kb/ingest/prepare.h"

#include <algorithm>
#include <cstdio>

#include "common/utf8.h"

namespace dv::kb {

IndexedChunk AnalyzeChunk(const Analyzer& analyzer, const DocumentRecord& doc, const ChunkRecord& chunk) {
  IndexedChunk ic;
  ic.chunk_id = chunk.id;
  ic.doc_id = doc.id;
  ic.kb_id = doc.kb_id;
  ic.doc_type = doc.doc_type;
  ic.tags = SplitTags(doc.tags);
  ic.date = doc.doc_date;
  uint32_t pos = analyzer.Analyze(doc.title, &ic.title_tokens, 0);
  analyzer.Analyze(chunk.heading_path, &ic.title_tokens, pos + 8);
  analyzer.Analyze(chunk.text, &ic.body_tokens, 0);
  return ic;
}

Result<PreparedDocument> PrepareDocument(const Analyzer& analyzer, const LexicalIndex& index,
                                         const ChunkerOptions& chunker, DocumentRecord record,
                                         const ParsedDocument& doc) {
  PreparedDocument out;
  if (record.title.empty()) record.title = utf8::Sanitize(doc.title);
  if (record.mime_type.empty()) record.mime_type = doc.mime_type;
  if (record.doc_date.empty()) {
    auto it = doc.metadata.find("date");
    if (it != doc.metadata.end()) record.doc_date = NormalizeDate(it->second);
  }
  std::vector<TextChunk> chunks = ChunkDocument(doc, chunker);
  record.chunk_count = static_cast<int64_t>(chunks.size());
  out.chunks.reserve(chunks.size());
  out.index.reserve(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    ChunkRecord c;
    c.ordinal = static_cast<int>(i);
    c.heading_path = std::move(chunks[i].heading_path);
    c.page = chunks[i].page;
    c.char_start = chunks[i].char_start;
    c.char_end = chunks[i].char_end;
    c.text = std::move(chunks[i].text);
    DV_ASSIGN_OR_RETURN(IndexDocument entry, index.Build(AnalyzeChunk(analyzer, record, c)));
    out.index.push_back(std::move(entry));
    out.chunks.push_back(std::move(c));
  }
  out.record = std::move(record);
  return out;
}

std::string NormalizeDate(std::string_view v) {
  int y = 0, m = 0, d = 0;
  char s1 = 0, s2 = 0;
  std::string text(v.substr(0, 32));
  if (std::sscanf(text.c_str(), "%4d%c%2d%c%2d", &y, &s1, &m, &s2, &d) == 5 && (s1 == '-' || s1 == '/' || s1 == '.') &&
      s1 == s2 && y >= 1000 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return buf;
  }
  return "";
}

Result<std::vector<std::string>> NormalizeTags(const std::vector<std::string>& tags) {
  std::vector<std::string> out;
  for (const std::string& raw : tags) {
    std::string t;
    for (char c : raw) {
      if (c == ',') return InvalidArgument("tag \"" + utf8::Sanitize(raw) + "\" contains a comma");
      if (static_cast<unsigned char>(c) < 0x20) return InvalidArgument("tag contains a control character");
      t += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    while (!t.empty() && t.back() == ' ') t.pop_back();
    t.erase(0, t.find_first_not_of(' ') == std::string::npos ? t.size() : t.find_first_not_of(' '));
    if (t.empty()) continue;
    if (t.size() > 64) return InvalidArgument("tag \"" + utf8::Sanitize(t) + "\" is longer than 64 bytes");
    if (!utf8::IsValid(t)) return InvalidArgument("tag is not valid UTF-8");
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> SplitTags(const std::string& joined) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    if (comma > start) out.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace dv::kb
