// OCR of rendered page images through the `tesseract` command-line program, when installed.
// Looked up on PATH at call time; run without a shell, with arguments we build ourselves.
#pragma once

#include <string>
#include <string_view>

#include "deepvault/status.h"

namespace dv::kb::internal {

// True when an executable `tesseract` is on PATH.
bool TesseractAvailable();

// Recognises the image in `image_path` (any format leptonica reads) with `languages`
// ("chi_sim+eng"; letters, digits, '_' and '+' only). Spaces tesseract puts between CJK
// characters are removed. Unavailable when tesseract is missing; Internal when it fails.
Result<std::string> RunTesseract(const std::string& image_path, std::string_view languages);

}  // namespace dv::kb::internal
