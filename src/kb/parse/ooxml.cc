#include "kb/parse/ooxml.h"

#include <charconv>

#include "kb/parse/formats.h"

namespace dv::kb::internal {

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool Is(const pugi::xml_node& node, std::string_view local_name) {
  return node.type() == pugi::node_element && LocalName(node) == local_name;
}

pugi::xml_node Child(const pugi::xml_node& node, std::string_view local_name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (Is(c, local_name)) return c;
  }
  return {};
}

std::string_view Attr(const pugi::xml_node& node, std::string_view local_name) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    std::string_view name = a.name();
    size_t colon = name.find(':');
    if ((colon == std::string_view::npos ? name : name.substr(colon + 1)) == local_name) {
      return a.value();
    }
  }
  return {};
}

long AttrInt(const pugi::xml_node& node, std::string_view local_name, long fallback) {
  std::string_view v = Attr(node, local_name);
  long value = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (ec != std::errc() || ptr != v.data() + v.size() || value < 0) return fallback;
  return value;
}

std::string_view RelationshipId(const pugi::xml_node& node) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    std::string_view name = a.name();
    size_t colon = name.find(':');
    if (colon != std::string_view::npos && name.substr(colon + 1) == "id") return a.value();
  }
  return {};
}

Result<std::unique_ptr<pugi::xml_document>> LoadXmlPart(ZipReader& zip, std::string_view name) {
  DV_ASSIGN_OR_RETURN(std::string bytes, zip.Read(name));
  auto doc = std::make_unique<pugi::xml_document>();
  // No DOCTYPE processing: entity definitions are never expanded (no billion-laughs).
  // Whitespace-only text is kept: <w:t xml:space="preserve"> </w:t> is a real space.
  pugi::xml_parse_result result =
      doc->load_buffer(bytes.data(), bytes.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_auto);
  if (!result) {
    return InvalidArgument("malformed XML in " + std::string(name) + " at byte " + std::to_string(result.offset) +
                           ": " + result.description());
  }
  return doc;
}

Result<std::map<std::string, std::string>> LoadRelationships(ZipReader& zip, std::string_view part) {
  size_t slash = part.rfind('/');
  std::string dir = slash == std::string_view::npos ? "" : std::string(part.substr(0, slash + 1));
  std::string file(slash == std::string_view::npos ? part : part.substr(slash + 1));
  std::string rels_name = dir + "_rels/" + file + ".rels";
  std::map<std::string, std::string> rels;
  if (!zip.Contains(rels_name)) return rels;
  DV_ASSIGN_OR_RETURN(auto xml, LoadXmlPart(zip, rels_name));
  pugi::xml_node root = xml->document_element();
  for (pugi::xml_node rel = root.first_child(); rel; rel = rel.next_sibling()) {
    if (!Is(rel, "Relationship")) continue;
    if (Attr(rel, "TargetMode") == "External") continue;
    rels[std::string(Attr(rel, "Id"))] = ResolvePartPath(dir, Attr(rel, "Target"));
  }
  return rels;
}

void ReadCoreProperties(ZipReader& zip, ParsedDocument& doc) {
  if (!zip.Contains("docProps/core.xml")) return;
  auto xml = LoadXmlPart(zip, "docProps/core.xml");
  if (!xml.ok()) {
    doc.warnings.push_back(xml.status().message());
    return;
  }
  pugi::xml_node root = (*xml)->document_element();
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    std::string value = CollapseWhitespace(c.text().get());
    if (value.empty()) continue;
    std::string_view name = LocalName(c);
    if (name == "title") doc.title = value;
    if (name == "creator") doc.metadata["author"] = value;
    if (name == "created") doc.metadata["created"] = value;
    if (name == "modified") doc.metadata["modified"] = value;
    if (name == "subject") doc.metadata["subject"] = value;
  }
}

void TitleFromFirstHeading(ParsedDocument& doc) {
  if (!doc.title.empty()) return;
  for (const Block& b : doc.blocks) {
    if (b.kind == BlockKind::kHeading) {
      doc.title = b.text;
      return;
    }
  }
}

std::string JoinChildTexts(const pugi::xml_node& container, std::string_view separator, const ElementText& text_of) {
  std::string out;
  for (pugi::xml_node c = container.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string text = text_of(c);
    std::string_view trimmed = TrimAscii(text);
    if (trimmed.empty()) continue;
    if (!out.empty()) out.append(separator);
    out.append(trimmed);
  }
  return out;
}

std::string TableText(const pugi::xml_node& tbl, const ElementText& cell_text) {
  std::string text;
  for (pugi::xml_node tr = tbl.first_child(); tr; tr = tr.next_sibling()) {
    if (!Is(tr, "tr")) continue;
    std::string row;
    bool first = true;
    for (pugi::xml_node tc = tr.first_child(); tc; tc = tc.next_sibling()) {
      if (!Is(tc, "tc")) continue;
      if (!first) row.append(" | ");
      row.append(CollapseWhitespace(cell_text(tc)));
      first = false;
    }
    if (row.find_first_not_of(" |") == std::string::npos) continue;
    if (!text.empty()) text.push_back('\n');
    text.append(row);
  }
  return text;
}

}  // namespace dv::kb::internal
