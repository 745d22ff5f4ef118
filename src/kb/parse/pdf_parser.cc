// PDF with poppler-cpp: the text layer of each page in reading order, split into paragraphs,
// each block tagged with its 1-based page. A page without text is reported in warnings and,
// when ParseOptions::enable_ocr is set and tesseract is installed, rendered (≤ ~25 megapixels)
// and recognised; OCR text is marked in metadata["ocr_pages"].
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-image.h>
#include <poppler-page-renderer.h>
#include <poppler-page.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "kb/parse/formats.h"
#include "kb/parse/ocr.h"

namespace dv::kb::internal {
namespace {

void SilencePoppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

std::string ToUtf8(const poppler::ustring& s) {
  poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

// Renders `page` in 8-bit gray and runs tesseract on it (in memory; nothing touches the disk).
Result<std::string> OcrPage(const poppler::page& page, const ParseOptions& options) {
  poppler::rectf box = page.page_rect();
  double width_in = box.width() / 72.0, height_in = box.height() / 72.0;
  if (!(width_in > 0 && height_in > 0)) return InvalidArgument("page has no size");
  constexpr double kMaxPixels = 25e6;
  double dpi = std::min(300.0, std::sqrt(kMaxPixels / (width_in * height_in)));
  if (dpi < 20) return ResourceExhausted("page is too large to render for OCR");
  poppler::page_renderer renderer;
  renderer.set_render_hint(poppler::page_renderer::antialiasing, true);
  renderer.set_render_hint(poppler::page_renderer::text_antialiasing, true);
  renderer.set_image_format(poppler::image::format_gray8);
  poppler::image image = renderer.render_page(&page, dpi, dpi);
  if (!image.is_valid() || image.format() != poppler::image::format_gray8) {
    return Internal("cannot render page");
  }
  return RecognizeGrayImage(reinterpret_cast<const unsigned char*>(image.const_data()), image.width(), image.height(),
                            image.bytes_per_row(), options.ocr_languages);
}

}  // namespace

Status ParsePdf(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  SilencePoppler();
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return ResourceExhausted("PDF too large");
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!pdf) return InvalidArgument("not a valid PDF (truncated or corrupt?)");
  if (pdf->is_locked()) return InvalidArgument("PDF is encrypted and needs a password");
  const int pages = pdf->pages();
  if (pages <= 0) return InvalidArgument("PDF has no pages (truncated or corrupt?)");
  if (pages > options.max_pages) {
    return ResourceExhausted("PDF has " + std::to_string(pages) + " pages (limit " + std::to_string(options.max_pages) +
                             ")");
  }
  doc.metadata["pages"] = std::to_string(pages);
  std::string title = CollapseWhitespace(ToUtf8(pdf->info_key("Title")));
  if (!title.empty()) doc.title = title;
  std::string author = CollapseWhitespace(ToUtf8(pdf->info_key("Author")));
  if (!author.empty()) doc.metadata["author"] = author;

  const bool ocr = options.enable_ocr && TesseractAvailable();
  std::string ocr_pages;
  int ocr_count = 0;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    if (!page) {
      doc.warnings.push_back("page " + std::to_string(i + 1) + " cannot be read");
      continue;
    }
    std::string text = ToUtf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout));
    std::string clean;
    clean.reserve(text.size());
    for (char c : text) {
      if (c == '\r') continue;
      clean.push_back(c == '\f' ? '\n' : c);
    }
    if (TrimAscii(clean).empty()) {
      std::string warning = "page " + std::to_string(i + 1) + " has no text layer (scanned?)";
      if (ocr && ocr_count >= options.max_ocr_pages) {
        warning += "; OCR skipped (limit of " + std::to_string(options.max_ocr_pages) + " pages)";
      } else if (ocr) {
        ++ocr_count;
        Result<std::string> recognised = OcrPage(*page, options);
        if (recognised.ok() && !TrimAscii(*recognised).empty()) {
          clean = std::move(recognised).value();
          warning += "; text recognised by OCR";
          if (!ocr_pages.empty()) ocr_pages.push_back(',');
          ocr_pages += std::to_string(i + 1);
        } else if (!recognised.ok()) {
          warning += "; OCR failed: " + recognised.status().message();
        }
      } else if (options.enable_ocr) {
        warning += "; install tesseract-ocr and tesseract-ocr-chi-sim to recognise it";
      }
      doc.warnings.push_back(std::move(warning));
    }
    size_t first = doc.blocks.size();
    AppendTextParagraphs(clean, doc);
    for (size_t b = first; b < doc.blocks.size(); ++b) doc.blocks[b].page = i + 1;
  }
  if (!ocr_pages.empty()) doc.metadata["ocr_pages"] = ocr_pages;
  return Status::Ok();
}

}  // namespace dv::kb::internal
