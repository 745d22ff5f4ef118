// HTML → Blocks with gumbo (an HTML5-conformant parser, so broken markup is repaired the way
// browsers repair it). Scripts, styles, navigation and form controls are dropped; h1–h6 become
// headings, li list items (nesting = number of enclosing lists), pre code, table tables,
// blockquote quotes; text of other block containers becomes paragraphs.
//
// The walk is recursive only up to kMaxDepth elements deep; anything deeper is flattened into the
// text of its ancestor with an explicit stack, so hostile nesting cannot exhaust the call stack.
#include <gumbo.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/text_decode.h"

namespace dv::kb::internal {
namespace {

constexpr int kMaxDepth = 200;

bool IsDropped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_HEAD:
      return true;
    default:
      return false;
  }
}

bool IsBlockContainer(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_CENTER:
      return true;
    default:
      return false;
  }
}

int HeadingLevel(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

// All text below `root` (dropped elements skipped), iteratively. <br> becomes '\n' when
// `keep_breaks`, a space otherwise.
void GatherText(const GumboNode* root, bool keep_breaks, std::string& out) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    switch (node->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        out.append(node->v.text.text);
        break;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
      case GUMBO_NODE_DOCUMENT: {
        const GumboVector* children =
            node->type == GUMBO_NODE_DOCUMENT ? &node->v.document.children : &node->v.element.children;
        if (node->type != GUMBO_NODE_DOCUMENT) {
          GumboTag tag = node->v.element.tag;
          if (IsDropped(tag)) break;
          if (tag == GUMBO_TAG_BR) out.push_back(keep_breaks ? '\n' : ' ');
          if (IsBlockContainer(tag) || HeadingLevel(tag) || tag == GUMBO_TAG_LI || tag == GUMBO_TAG_TR ||
              tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) {
            out.push_back(' ');
          }
        }
        for (unsigned i = children->length; i-- > 0;) {
          stack.push_back(static_cast<const GumboNode*>(children->data[i]));
        }
        break;
      }
      default:
        break;
    }
  }
}

class HtmlWalker {
 public:
  explicit HtmlWalker(ParsedDocument& doc) : doc_(doc) {}

  void Walk(const GumboNode* node, int depth) {
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE || node->type == GUMBO_NODE_CDATA) {
      // Source line breaks are spaces in HTML; only <br> breaks a line (buffer_ '\n').
      for (const char* c = node->v.text.text; *c; ++c) {
        buffer_.push_back(*c == '\n' || *c == '\r' ? ' ' : *c);
      }
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return;
    const GumboElement& el = node->v.element;
    if (el.tag == GUMBO_TAG_HEAD) {  // only <title> matters in <head>
      for (unsigned i = 0; i < el.children.length; ++i) {
        const auto* child = static_cast<const GumboNode*>(el.children.data[i]);
        if (child->type == GUMBO_NODE_ELEMENT && child->v.element.tag == GUMBO_TAG_TITLE && title_.empty()) {
          std::string t;
          GatherText(child, false, t);
          title_ = CollapseWhitespace(t);
        }
      }
      return;
    }
    if (IsDropped(el.tag)) return;
    if (depth > kMaxDepth) {
      GatherText(node, true, buffer_);
      return;
    }
    if (int level = HeadingLevel(el.tag)) {
      Flush();
      std::string t;
      GatherText(node, false, t);
      Emit(BlockKind::kHeading, level, CollapseWhitespace(t));
      return;
    }
    switch (el.tag) {
      case GUMBO_TAG_BR:
        buffer_.push_back('\n');
        return;
      case GUMBO_TAG_PRE: {
        Flush();
        std::string t;
        GatherText(node, true, t);
        if (!t.empty() && t[0] == '\n') t.erase(0, 1);
        while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
        Emit(BlockKind::kCode, 0, t);
        return;
      }
      case GUMBO_TAG_TABLE:
        Flush();
        Table(node);
        return;
      case GUMBO_TAG_UL:
      case GUMBO_TAG_OL:
      case GUMBO_TAG_MENU:
        Flush();
        ++list_depth_;
        Children(node, depth);
        Flush();
        --list_depth_;
        return;
      case GUMBO_TAG_LI:
        Flush();
        context_.push_back({BlockKind::kListItem, std::max(list_depth_, 1)});
        Children(node, depth);
        Flush();
        context_.pop_back();
        return;
      case GUMBO_TAG_BLOCKQUOTE:
        Flush();
        context_.push_back({BlockKind::kQuote, 0});
        Children(node, depth);
        Flush();
        context_.pop_back();
        return;
      default:
        break;
    }
    bool block = IsBlockContainer(el.tag);
    if (block) Flush();
    Children(node, depth);
    if (block) Flush();
  }

  void Finish() {
    Flush();
    if (doc_.title.empty()) doc_.title = title_;
  }

 private:
  struct Context {
    BlockKind kind;
    int level;
  };

  void Children(const GumboNode* node, int depth) {
    const GumboVector& children = node->v.element.children;
    for (unsigned i = 0; i < children.length; ++i) {
      Walk(static_cast<const GumboNode*>(children.data[i]), depth + 1);
    }
  }

  // Rows are the <tr> elements of this table (through thead/tbody/tfoot), not of nested tables.
  void Table(const GumboNode* table) {
    std::string text;
    std::vector<const GumboNode*> sections{table};
    for (size_t s = 0; s < sections.size(); ++s) {
      const GumboVector& children = sections[s]->v.element.children;
      for (unsigned i = 0; i < children.length; ++i) {
        const auto* child = static_cast<const GumboNode*>(children.data[i]);
        if (child->type != GUMBO_NODE_ELEMENT) continue;
        GumboTag tag = child->v.element.tag;
        if (tag == GUMBO_TAG_THEAD || tag == GUMBO_TAG_TBODY || tag == GUMBO_TAG_TFOOT) {
          sections.push_back(child);
        } else if (tag == GUMBO_TAG_CAPTION) {
          std::string caption;
          GatherText(child, false, caption);
          Emit(BlockKind::kParagraph, 0, CollapseWhitespace(caption));
        } else if (tag == GUMBO_TAG_TR) {
          std::string row;
          bool first = true;
          const GumboVector& cells = child->v.element.children;
          for (unsigned c = 0; c < cells.length; ++c) {
            const auto* cell = static_cast<const GumboNode*>(cells.data[c]);
            if (cell->type != GUMBO_NODE_ELEMENT) continue;
            if (cell->v.element.tag != GUMBO_TAG_TD && cell->v.element.tag != GUMBO_TAG_TH) {
              continue;
            }
            std::string t;
            GatherText(cell, false, t);
            if (!first) row.append(" | ");
            row.append(CollapseWhitespace(t));
            first = false;
          }
          if (TrimAscii(row).empty() || row.find_first_not_of(" |") == std::string::npos) continue;
          if (!text.empty()) text.push_back('\n');
          text.append(row);
        }
      }
    }
    Emit(BlockKind::kTable, 0, text);
  }

  void Flush() {
    if (buffer_.empty()) return;
    std::string text;
    size_t pos = 0;
    while (pos <= buffer_.size()) {
      size_t nl = buffer_.find('\n', pos);
      size_t end = nl == std::string::npos ? buffer_.size() : nl;
      std::string line = CollapseWhitespace(std::string_view(buffer_).substr(pos, end - pos));
      if (!line.empty()) {
        if (!text.empty()) text.push_back('\n');
        text.append(line);
      }
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    buffer_.clear();
    Context ctx = context_.empty() ? Context{BlockKind::kParagraph, 0} : context_.back();
    Emit(ctx.kind, ctx.level, text);
  }

  void Emit(BlockKind kind, int level, std::string text) {
    if (TrimAscii(text).empty()) return;
    Block b;
    b.kind = kind;
    b.level = level;
    b.text = std::move(text);
    doc_.blocks.push_back(std::move(b));
  }

  ParsedDocument& doc_;
  std::string buffer_;
  std::string title_;
  std::vector<Context> context_;
  int list_depth_ = 0;
};

// The charset declared in <meta charset=...> or <meta http-equiv=Content-Type content=...>,
// looked for in the first 4 KiB (as browsers do).
std::string DeclaredCharset(std::string_view bytes) {
  std::string head(bytes.substr(0, 4096));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t pos = 0;
  while ((pos = head.find("<meta", pos)) != std::string::npos) {
    size_t end = head.find('>', pos);
    if (end == std::string::npos) break;
    std::string_view tag = std::string_view(head).substr(pos, end - pos);
    size_t cs = tag.find("charset");
    if (cs != std::string_view::npos) {
      size_t i = cs + 7;
      while (i < tag.size() && (tag[i] == ' ' || tag[i] == '=' || tag[i] == '"' || tag[i] == '\'')) ++i;
      size_t j = i;
      while (j < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[j])) || tag[j] == '-' || tag[j] == '_' ||
                                tag[j] == ':' || tag[j] == '.')) {
        ++j;
      }
      if (j > i) return std::string(tag.substr(i, j - i));
    }
    pos = end;
  }
  return {};
}

// Gumbo's tree construction costs O(elements × open-element depth), so 1 MB of "<div>" would take
// minutes. Before parsing, a light tokenizer estimates the nesting depth the way the HTML tree
// builder would (void elements do not nest; p/li/dt/dd/tr/td/th/option close their open
// namesake; block starts close an open p); documents deeper than kMaxNesting are refused.
// Browsers cap the depth of their DOM at a few hundred too (Blink: 512).
constexpr size_t kMaxNesting = 512;

bool IsVoidElement(std::string_view tag) {
  static constexpr std::string_view kVoid[] = {"area",  "base",  "br",       "col",   "embed", "hr",
                                               "img",   "input", "link",     "meta",  "param", "source",
                                               "track", "wbr",   "basefont", "frame", "keygen"};
  for (std::string_view v : kVoid)
    if (tag == v) return true;
  return false;
}
bool ClosesNamesake(std::string_view tag) {
  return tag == "p" || tag == "li" || tag == "dt" || tag == "dd" || tag == "tr" || tag == "td" || tag == "th" ||
         tag == "option";
}
bool ClosesParagraph(std::string_view tag) {
  static constexpr std::string_view kBlocks[] = {
      "address", "article", "aside",   "blockquote", "div", "dl",     "fieldset", "footer", "form", "h1",
      "h2",      "h3",      "h4",      "h5",         "h6",  "header", "hr",       "main",   "nav",  "ol",
      "p",       "pre",     "section", "table",      "ul",  "figure", "details",  "menu"};
  for (std::string_view b : kBlocks)
    if (tag == b) return true;
  return false;
}

size_t EstimateNestingDepth(std::string_view html) {
  std::vector<std::string> open;
  size_t max_depth = 0;
  auto pop_to = [&](std::string_view name, size_t search_limit) {
    for (size_t i = open.size(), n = 0; i-- > 0 && n < search_limit; ++n) {
      if (open[i] == name) {
        open.resize(i);
        return;
      }
    }
  };
  size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string_view::npos) {
    if (html.substr(pos, 4) == "<!--") {
      size_t end = html.find("-->", pos + 4);
      if (end == std::string_view::npos) break;
      pos = end + 3;
      continue;
    }
    bool closing = pos + 1 < html.size() && html[pos + 1] == '/';
    size_t name_start = pos + (closing ? 2 : 1);
    size_t i = name_start;
    std::string name;
    while (i < html.size() && name.size() < 16 && std::isalnum(static_cast<unsigned char>(html[i]))) {
      name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(html[i]))));
      ++i;
    }
    size_t gt = html.find('>', i);
    if (gt == std::string_view::npos) break;
    pos = gt + 1;
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) continue;
    if (closing) {
      pop_to(name, 64);
      continue;
    }
    if (name == "script" || name == "style" || name == "textarea" || name == "title") {
      size_t end = html.find("</", pos);  // raw text: skip to the next end tag
      pos = end == std::string_view::npos ? html.size() : end;
      continue;
    }
    if (IsVoidElement(name) || html[gt - 1] == '/') continue;
    if (ClosesNamesake(name)) pop_to(name, 8);
    if (ClosesParagraph(name)) pop_to("p", 8);
    open.push_back(std::move(name));
    max_depth = std::max(max_depth, open.size());
    if (max_depth > kMaxNesting) break;
  }
  return max_depth;
}

struct GumboOutputDeleter {
  void operator()(GumboOutput* out) const { gumbo_destroy_output(&kGumboDefaultOptions, out); }
};

}  // namespace

Status ParseHtmlUtf8(std::string_view html, const ParseOptions&, ParsedDocument& doc) {
  if (EstimateNestingDepth(html) > kMaxNesting) {
    return ResourceExhausted("HTML elements nested deeper than " + std::to_string(kMaxNesting) + " levels");
  }
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 100;
  std::unique_ptr<GumboOutput, GumboOutputDeleter> output(gumbo_parse_with_options(&options, html.data(), html.size()));
  if (!output) return InvalidArgument("HTML parser failed");
  HtmlWalker walker(doc);
  walker.Walk(output->root, 0);
  walker.Finish();
  return Status::Ok();
}

Status ParseHtml(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DecodedText decoded = DecodeText(bytes, DeclaredCharset(bytes));
  doc.metadata["encoding"] = decoded.encoding;
  return ParseHtmlUtf8(decoded.text, options, doc);
}

}  // namespace dv::kb::internal
