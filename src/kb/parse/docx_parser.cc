// DOCX (WordprocessingML): body paragraphs and tables in document order. A paragraph's style
// decides its kind: styles named "heading N" / "标题 N" / "Title" (or carrying an outline level)
// are headings; paragraphs with numbering (w:numPr) are list items at level ilvl + 1.
// Deleted revisions (w:delText) and field codes (w:instrText) are not text.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/ooxml.h"

namespace dv::kb::internal {
namespace {

constexpr int kMaxContainerDepth = 32;

// "heading 2", "Heading2", "标题 2", "标题2" → 2; "Title" → 1; otherwise 0.
int HeadingLevelFromName(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::string_view n = lower;
  if (n == "title" || n == "标题") return 1;
  for (std::string_view prefix : {std::string_view("heading"), std::string_view("标题")}) {
    if (n.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = TrimAscii(n.substr(prefix.size()));
    if (rest.size() == 1 && rest[0] >= '1' && rest[0] <= '9') return std::min(rest[0] - '0', 6);
  }
  return 0;
}

struct StyleInfo {
  int heading_level = 0;
  bool list = false;
  BlockKind kind = BlockKind::kParagraph;  // kQuote / kCode for quote and preformatted styles
};

BlockKind KindFromStyleName(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "quote" || lower == "intense quote" || lower == "block text" || lower == "引用" || lower == "明显引用") {
    return BlockKind::kQuote;
  }
  if (lower == "source code" || lower == "html preformatted" || lower == "plain text" || lower == "code") {
    return BlockKind::kCode;
  }
  return BlockKind::kParagraph;
}

std::map<std::string, StyleInfo> LoadStyles(ZipReader& zip, ParsedDocument& doc) {
  std::map<std::string, StyleInfo> styles;
  if (!zip.Contains("word/styles.xml")) return styles;
  auto xml = LoadXmlPart(zip, "word/styles.xml");
  if (!xml.ok()) {
    doc.warnings.push_back(xml.status().message());
    return styles;
  }
  for (pugi::xml_node s = (*xml)->document_element().first_child(); s; s = s.next_sibling()) {
    if (!Is(s, "style") || Attr(s, "type") != "paragraph") continue;
    StyleInfo info;
    std::string_view id = Attr(s, "styleId");
    info.heading_level = HeadingLevelFromName(Attr(Child(s, "name"), "val"));
    info.kind = KindFromStyleName(Attr(Child(s, "name"), "val"));
    if (!info.heading_level) info.heading_level = HeadingLevelFromName(id);
    pugi::xml_node ppr = Child(s, "pPr");
    if (!info.heading_level && Child(ppr, "outlineLvl")) {
      long lvl = AttrInt(Child(ppr, "outlineLvl"), "val", -1);
      if (lvl >= 0 && lvl < 6) info.heading_level = static_cast<int>(lvl) + 1;
    }
    info.list = static_cast<bool>(Child(ppr, "numPr"));
    styles[std::string(id)] = info;
  }
  return styles;
}

// Text of a paragraph (runs, hyperlinks, smart tags, inserted revisions), iteratively.
std::string ParagraphText(const pugi::xml_node& p) {
  std::string out;
  std::vector<pugi::xml_node> stack;
  for (pugi::xml_node c = p.last_child(); c; c = c.previous_sibling()) stack.push_back(c);
  while (!stack.empty()) {
    pugi::xml_node n = stack.back();
    stack.pop_back();
    if (n.type() != pugi::node_element) continue;
    std::string_view name = LocalName(n);
    if (name == "t") {
      out.append(n.text().get());
    } else if (name == "tab") {
      out.push_back('\t');
    } else if (name == "br" || name == "cr") {
      out.push_back('\n');
    } else if (name == "del" || name == "delText" || name == "instrText" || name == "pPr" || name == "rPr" ||
               name == "commentReference") {
      continue;
    } else if (name == "footnoteReference" || name == "endnoteReference") {
      out.append("[^").append(name == "endnoteReference" ? "e" : "").append(Attr(n, "id")).append("]");
    } else {
      for (pugi::xml_node c = n.last_child(); c; c = c.previous_sibling()) stack.push_back(c);
    }
  }
  return out;
}

class DocxWalker {
 public:
  DocxWalker(const std::map<std::string, StyleInfo>& styles, ParsedDocument& doc) : styles_(styles), doc_(doc) {}

  void Container(const pugi::xml_node& node, int depth) {
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (Is(c, "p")) {
        Paragraph(c);
      } else if (Is(c, "tbl")) {
        Table(c);
      } else if (depth < kMaxContainerDepth &&
                 (Is(c, "sdt") || Is(c, "sdtContent") || Is(c, "customXml") || Is(c, "ins"))) {
        Container(c, depth + 1);
      }
    }
  }

 private:
  void Paragraph(const pugi::xml_node& p) {
    std::string text = ParagraphText(p);
    std::string_view trimmed = TrimAscii(text);
    if (trimmed.empty()) return;
    pugi::xml_node ppr = Child(p, "pPr");
    StyleInfo style;
    auto it = styles_.find(std::string(Attr(Child(ppr, "pStyle"), "val")));
    if (it != styles_.end()) style = it->second;
    if (pugi::xml_node outline = Child(ppr, "outlineLvl")) {
      long lvl = AttrInt(outline, "val", -1);
      if (lvl >= 0 && lvl < 6) style.heading_level = static_cast<int>(lvl) + 1;
    }
    Block b;
    b.text = std::string(trimmed);
    if (style.heading_level) {
      b.kind = BlockKind::kHeading;
      b.level = style.heading_level;
      b.text = CollapseWhitespace(b.text);
    } else if (pugi::xml_node num = Child(ppr, "numPr"); num || style.list) {
      b.kind = BlockKind::kListItem;
      long ilvl = num ? AttrInt(Child(num, "ilvl"), "val") : 0;
      b.level = static_cast<int>(std::clamp(ilvl, 0L, 8L)) + 1;
    } else {
      b.kind = style.kind;
    }
    doc_.blocks.push_back(std::move(b));
  }

  void Table(const pugi::xml_node& tbl) {
    // Nested tables are flattened into the cell's text.
    std::string text = TableText(tbl, [](const pugi::xml_node& tc) {
      return JoinChildTexts(tc, " ", [](const pugi::xml_node& n) {
        return Is(n, "p") || Is(n, "tbl") ? ParagraphText(n) : std::string();
      });
    });
    if (!text.empty()) doc_.blocks.push_back(Block{BlockKind::kTable, 0, std::move(text)});
  }

  const std::map<std::string, StyleInfo>& styles_;
  ParsedDocument& doc_;
};

}  // namespace

Status ParseDocx(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(bytes, options));
  if (!zip->Contains("word/document.xml")) {
    return InvalidArgument("not a DOCX file: word/document.xml is missing");
  }
  std::map<std::string, StyleInfo> styles = LoadStyles(*zip, doc);
  DV_ASSIGN_OR_RETURN(auto xml, LoadXmlPart(*zip, "word/document.xml"));
  pugi::xml_node body = Child(xml->document_element(), "body");
  if (!body) return InvalidArgument("word/document.xml has no w:body");
  DocxWalker(styles, doc).Container(body, 0);
  // Footnotes and endnotes follow the body, each as "[^id] text" (ids match the markers).
  for (const char* part : {"word/footnotes.xml", "word/endnotes.xml"}) {
    if (!zip->Contains(part)) continue;
    DV_ASSIGN_OR_RETURN(auto notes, LoadXmlPart(*zip, part));
    const bool endnotes = std::string_view(part) == "word/endnotes.xml";
    for (pugi::xml_node note = notes->document_element().first_child(); note; note = note.next_sibling()) {
      if (!(Is(note, "footnote") || Is(note, "endnote")) || !Attr(note, "type").empty()) continue;
      const std::string text = JoinChildTexts(note, "\n", [](const pugi::xml_node& p) {
        return Is(p, "p") ? ParagraphText(p) : std::string();
      });
      if (text.empty()) continue;
      std::string marker = "[^";
      marker.append(endnotes ? "e" : "").append(Attr(note, "id")).append("] ");
      doc.blocks.push_back(Block{BlockKind::kParagraph, 0, marker + text});
    }
  }
  ReadCoreProperties(*zip, doc);
  TitleFromFirstHeading(doc);
  return Status::Ok();
}

}  // namespace dv::kb::internal
