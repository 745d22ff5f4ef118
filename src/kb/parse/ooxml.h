// Internal helpers shared by the DOCX, XLSX and PPTX parsers: XML parts read from a ZipReader
// into pugixml documents, relationship maps, namespace-agnostic element matching (elements are
// matched by local name, so "w:p" and "ns0:p" are the same), and the paragraph/table walking that
// WordprocessingML and DrawingML share (both use <p>, <tbl>/<tr>/<tc>).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "deepvault/status.h"
#include "kb/parse/zip_reader.h"

namespace dv::kb::internal {

// Local name of an element ("p" for "w:p").
std::string_view LocalName(const pugi::xml_node& node);
bool Is(const pugi::xml_node& node, std::string_view local_name);
// First child element with this local name (empty node when none).
pugi::xml_node Child(const pugi::xml_node& node, std::string_view local_name);
// Attribute by local name ("val" matches "w:val").
std::string_view Attr(const pugi::xml_node& node, std::string_view local_name);

// Attribute by local name parsed as a non-negative decimal integer; `fallback` when absent or
// malformed (OOXML from hostile sources may hold anything).
long AttrInt(const pugi::xml_node& node, std::string_view local_name, long fallback = 0);

// The relationship id of an element ("r:id"; a plain "id" attribute is not one).
std::string_view RelationshipId(const pugi::xml_node& node);

// Reads and parses one XML part. NotFound when absent, InvalidArgument when malformed.
Result<std::unique_ptr<pugi::xml_document>> LoadXmlPart(ZipReader& zip, std::string_view name);

// Relationship id → resolved part path, from the _rels file belonging to `part`
// ("xl/workbook.xml" → "xl/_rels/workbook.xml.rels"). Empty map when the file is absent.
Result<std::map<std::string, std::string>> LoadRelationships(ZipReader& zip, std::string_view part);

// Fills title / author / dates from docProps/core.xml when present.
void ReadCoreProperties(ZipReader& zip, ParsedDocument& doc);
// When `doc` has no title yet, the text of its first heading block becomes the title.
void TitleFromFirstHeading(ParsedDocument& doc);

// Text of one element (a paragraph, a table cell); "" for elements that hold no text.
using ElementText = std::function<std::string(const pugi::xml_node&)>;

// The texts `text_of` gives for the child elements of `container`, each trimmed, empty ones
// skipped, joined by `separator`.
std::string JoinChildTexts(const pugi::xml_node& container, std::string_view separator, const ElementText& text_of);

// A table (<tbl>) as text: one line per <tr>, its <tc> cells' texts (`cell_text`, whitespace
// collapsed) joined by " | "; rows without text are left out. Empty when the table has no text.
std::string TableText(const pugi::xml_node& tbl, const ElementText& cell_text);

}  // namespace dv::kb::internal
