// PPTX (PresentationML): slides in presentation order (p:sldIdLst), page = slide number. A title
// placeholder becomes a level-1 heading and names the slide (Block::sheet); paragraphs of body
// placeholders are list items (level = a:pPr/@lvl + 1); other text frames are paragraphs; tables
// (a:tbl in graphic frames) are tables; speaker notes follow as a "Notes: …" paragraph. Group shapes are walked with an
// explicit depth bound.
#include <algorithm>
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/ooxml.h"

namespace dv::kb::internal {
namespace {

constexpr int kMaxGroupDepth = 32;

std::string DrawingParagraphText(const pugi::xml_node& p) {
  std::string out;
  for (pugi::xml_node r = p.first_child(); r; r = r.next_sibling()) {
    if (Is(r, "r") || Is(r, "fld")) {
      out.append(Child(r, "t").text().get());
    } else if (Is(r, "br")) {
      out.push_back('\n');
    }
  }
  return out;
}

// DrawingParagraphText for <a:p> elements, "" for anything else (an ElementText).
std::string DrawingParagraph(const pugi::xml_node& node) {
  return Is(node, "p") ? DrawingParagraphText(node) : std::string();
}

struct SlideBlocks {
  std::string title;
  std::vector<Block> blocks;
};

class SlideWalker {
 public:
  explicit SlideWalker(SlideBlocks& out) : out_(out) {}

  void ShapeTree(const pugi::xml_node& tree, int depth) {
    for (pugi::xml_node shape = tree.first_child(); shape; shape = shape.next_sibling()) {
      if (Is(shape, "sp")) {
        Shape(shape);
      } else if (Is(shape, "grpSp") && depth < kMaxGroupDepth) {
        ShapeTree(shape, depth + 1);
      } else if (Is(shape, "graphicFrame")) {
        pugi::xml_node data = Child(Child(shape, "graphic"), "graphicData");
        if (pugi::xml_node tbl = Child(data, "tbl")) Table(tbl);
      }
    }
  }

 private:
  void Shape(const pugi::xml_node& sp) {
    pugi::xml_node ph = Child(Child(Child(sp, "nvSpPr"), "nvPr"), "ph");
    std::string_view ph_type = Attr(ph, "type");
    bool is_title = ph && (ph_type == "title" || ph_type == "ctrTitle");
    bool is_body = ph && (ph_type.empty() || ph_type == "body" || ph_type == "obj");
    pugi::xml_node body = Child(sp, "txBody");
    if (is_title) {
      std::string title;
      for (pugi::xml_node p = body.first_child(); p; p = p.next_sibling()) {
        if (!Is(p, "p")) continue;
        std::string t = CollapseWhitespace(DrawingParagraphText(p));
        if (t.empty()) continue;
        if (!title.empty()) title.push_back(' ');
        title.append(t);
      }
      if (title.empty()) return;
      if (out_.title.empty()) out_.title = title;
      out_.blocks.push_back(Block{BlockKind::kHeading, 1, title});
      return;
    }
    for (pugi::xml_node p = body.first_child(); p; p = p.next_sibling()) {
      if (!Is(p, "p")) continue;
      std::string t(TrimAscii(DrawingParagraphText(p)));
      if (t.empty()) continue;
      Block b{BlockKind::kParagraph, 0, std::move(t)};
      pugi::xml_node ppr = Child(p, "pPr");
      bool bulleted = is_body ? !Child(ppr, "buNone") : Child(ppr, "buChar") || Child(ppr, "buAutoNum");
      if (bulleted) {
        b.kind = BlockKind::kListItem;
        long lvl = AttrInt(ppr, "lvl");
        b.level = static_cast<int>(std::clamp(lvl, 0L, 8L)) + 1;
      }
      out_.blocks.push_back(std::move(b));
    }
  }

  void Table(const pugi::xml_node& tbl) {
    std::string text = TableText(tbl, [](const pugi::xml_node& tc) {
      return JoinChildTexts(Child(tc, "txBody"), " ", DrawingParagraph);
    });
    if (!text.empty()) out_.blocks.push_back(Block{BlockKind::kTable, 0, std::move(text)});
  }

  SlideBlocks& out_;
};

// Speaker notes of the slide in `slide_part` (its notesSlide relationship), as one paragraph
// "Notes: …" after the slide's own blocks.
Status AppendSpeakerNotes(ZipReader& zip, const std::string& slide_part, SlideBlocks& out) {
  DV_ASSIGN_OR_RETURN(auto rels, LoadRelationships(zip, slide_part));
  for (const auto& [id, target] : rels) {
    if (target.find("notesSlides/") == std::string::npos || !zip.Contains(target)) continue;
    DV_ASSIGN_OR_RETURN(auto notes, LoadXmlPart(zip, target));
    pugi::xml_node tree = Child(Child(notes->document_element(), "cSld"), "spTree");
    const std::string text = JoinChildTexts(tree, "\n", [](const pugi::xml_node& sp) {
      if (!Is(sp, "sp")) return std::string();
      pugi::xml_node ph = Child(Child(Child(sp, "nvSpPr"), "nvPr"), "ph");
      if (Attr(ph, "type") != "body") return std::string();  // not the slide image or the slide number
      return JoinChildTexts(Child(sp, "txBody"), "\n", DrawingParagraph);
    });
    if (!text.empty()) out.blocks.push_back(Block{BlockKind::kParagraph, 0, "Notes: " + text});
  }
  return Status::Ok();
}

}  // namespace

Status ParsePptx(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DV_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(bytes, options));
  if (!zip->Contains("ppt/presentation.xml")) {
    return InvalidArgument("not a PPTX file: ppt/presentation.xml is missing");
  }
  DV_ASSIGN_OR_RETURN(auto rels, LoadRelationships(*zip, "ppt/presentation.xml"));
  DV_ASSIGN_OR_RETURN(auto pres, LoadXmlPart(*zip, "ppt/presentation.xml"));
  pugi::xml_node list = Child(pres->document_element(), "sldIdLst");
  int slide_no = 0;
  for (pugi::xml_node id = list.first_child(); id; id = id.next_sibling()) {
    if (!Is(id, "sldId")) continue;
    ++slide_no;
    if (slide_no > options.max_pages) {
      return ResourceExhausted("presentation has more than " + std::to_string(options.max_pages) + " slides");
    }
    auto rel = rels.find(std::string(RelationshipId(id)));
    if (rel == rels.end() || !zip->Contains(rel->second)) {
      doc.warnings.push_back("slide " + std::to_string(slide_no) + " has no slide part");
      continue;
    }
    DV_ASSIGN_OR_RETURN(auto slide, LoadXmlPart(*zip, rel->second));
    SlideBlocks blocks;
    SlideWalker(blocks).ShapeTree(Child(Child(slide->document_element(), "cSld"), "spTree"), 0);
    DV_RETURN_IF_ERROR(AppendSpeakerNotes(*zip, rel->second, blocks));
    for (Block& b : blocks.blocks) {
      b.page = slide_no;
      b.sheet = blocks.title;
      doc.blocks.push_back(std::move(b));
    }
  }
  doc.metadata["slides"] = std::to_string(slide_no);
  ReadCoreProperties(*zip, doc);
  TitleFromFirstHeading(doc);
  return Status::Ok();
}

}  // namespace dv::kb::internal
