// OCR of rendered page images through the `tesseract` command-line program, when installed.
// Looked up on PATH at call time; run without a shell, with arguments we build ourselves.
#pragma once

#include <string>
#include <string_view>

#include "deepvault/status.h"

namespace dv::kb::internal {

// True when an executable `tesseract` is on PATH.
bool TesseractAvailable();

// Recognises an 8-bit grayscale image (rows of `stride` bytes, `width` used) with `languages`
// ("chi_sim+eng"; letters, digits, '_' and '+' only). The image is piped to tesseract's stdin as
// PGM, so nothing is written to disk. Spaces tesseract puts between CJK characters are removed.
// Unavailable when tesseract is missing; Internal when it fails.
Result<std::string> RecognizeGrayImage(const unsigned char* pixels, int width, int height, int stride,
                                       std::string_view languages);

}  // namespace dv::kb::internal
