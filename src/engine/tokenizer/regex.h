// Pattern matchers for Split pre-tokenizers.
//
// Two implementations of one contract, FindMatches: the leftmost-first, non-overlapping,
// non-empty matches of a pattern in valid UTF-8 text, as byte spans, in order.
//   - an ICU regex engine for any pattern (slow path; `\s`/`\S` are rewritten to the Unicode
//     White_Space property to agree with Oniguruma, which HF `tokenizers` uses);
//   - hand-written matchers for the patterns of the tokenizers we care about most (Qwen2/Qwen3,
//     Llama 3, DeepSeek-V3), selected by exact pattern text. They must give identical matches
//     (regex_test.cc runs both on varied text).
//
// Thread safety: a compiled PieceRegex is immutable; FindMatches may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "deepvault/status.h"

namespace dv::tok {

struct Span {
  uint32_t begin = 0, end = 0;  // byte offsets, [begin, end)
};

class PieceRegex {
 public:
  virtual ~PieceRegex() = default;
  // Appends the matches in `text` to `out`. REQUIRES: text is valid UTF-8, < 4 GiB.
  virtual void FindMatches(std::string_view text, std::vector<Span>& out) const = 0;
  // "icu" or the name of the hand-written matcher.
  virtual std::string_view engine() const = 0;
};

// Compiles `pattern` with ICU. Errors name the pattern and ICU's complaint.
Result<std::unique_ptr<PieceRegex>> CompileIcuRegex(std::string_view pattern);

// Returns the hand-written matcher for a known pattern, or nullptr.
std::unique_ptr<PieceRegex> MakeKnownRegex(std::string_view pattern);

// Known matcher when there is one, otherwise ICU.
Result<std::unique_ptr<PieceRegex>> CompileRegex(std::string_view pattern);

// Patterns used by real tokenizer.json files (exact text after JSON decoding).
namespace patterns {
inline constexpr std::string_view kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
inline constexpr std::string_view kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
inline constexpr std::string_view kDigits1to3 = "\\p{N}{1,3}";
// [一-龥぀-ゟ゠-ヿ]+
inline constexpr std::string_view kDeepSeekV3Cjk =
    "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+";
inline constexpr std::string_view kDeepSeekV3Main =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
// GPT-2's split, applied by the ByteLevel pre-tokenizer when use_regex is true.
inline constexpr std::string_view kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
}  // namespace patterns

}  // namespace dv::tok
