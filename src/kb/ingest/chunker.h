// Structure-aware chunking of a ParsedDocument into retrieval units.
//
// The document text is its blocks joined by '\n'; chunks are contiguous slices of it, so a
// chunk's [char_start, char_end) (code points) locates it exactly for citations.
//
// Rules:
//   - a chunk never spans a heading boundary, except that a chunk still "tiny" (< tiny_tokens,
//     e.g. a lone heading) when its section ends continues into the next section;
//   - a chunk holds at most max_tokens (estimated: one per CJK character, 1.3 per other word or
//     one per 4 characters of a longer word, 0.5 per punctuation mark); a sentence longer than the
//     budget is cut, at a space when there is one in its second half;
//   - chunks end at sentence boundaries (Chinese 。！？；… and English . ! ? ; followed by a space)
//     or line ends in code and tables;
//   - consecutive chunks of one section overlap by up to overlap_tokens of whole sentences.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "kb/parse/document.h"

namespace dv::kb {

struct ChunkerOptions {
  int max_tokens = 400;
  int overlap_tokens = 40;
  int tiny_tokens = 48;
};

struct TextChunk {
  std::string heading_path;  // "Chapter > Section", empty before the first heading
  int page = 0;              // page of the chunk's first block
  int64_t char_start = 0;    // code points into DocumentText()
  int64_t char_end = 0;
  std::string text;
  double tokens = 0;
};

Status ValidateChunkerOptions(const ChunkerOptions& options);
// The text the chunk offsets refer to: the blocks' texts joined by '\n'.
std::string DocumentText(const ParsedDocument& doc);
// Estimated number of model tokens in `text`.
double EstimateTokens(std::string_view text);
// REQUIRES: ValidateChunkerOptions(options).ok().
std::vector<TextChunk> ChunkDocument(const ParsedDocument& doc, const ChunkerOptions& options);

}  // namespace dv::kb
