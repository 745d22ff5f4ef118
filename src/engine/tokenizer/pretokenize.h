// The pre-tokenizer stage: splits a normalized segment into pieces that the model encodes
// independently (HF `pre_tokenizers.*`).
//
// Thread safety: immutable after Create; Apply may be called concurrently with distinct outputs.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/spec.h"

namespace dv::tok {

// Pieces of one segment: `spans` index into `text` (a possibly rewritten copy of the segment).
struct PieceList {
  std::string text;
  std::vector<Span> spans;
};

class PreTokenizer {
 public:
  static Result<PreTokenizer> Create(const std::vector<PreTokenizerStep>& steps);

  // Splits `segment` (valid UTF-8) into `out`. `at_input_start`: the segment begins the input
  // (Metaspace's prepend_scheme "first" only prepends there).
  void Apply(std::string_view segment, bool at_input_start, PieceList& out) const;

  // Name of the split engine of each Split step ("icu", "qwen2", ...), for tests and diagnostics.
  std::vector<std::string_view> split_engines() const;

 private:
  struct Step {
    PreTokenizerStep spec;
    std::shared_ptr<const PieceRegex> regex;  // Split (regex) and ByteLevel(use_regex)
  };
  std::vector<Step> steps_;
};

// Turns the matches of a pattern inside `range` into pieces according to `behavior`.
// `matches` are sorted, non-overlapping, inside `range`. Appends to `out`.
void ApplySplitBehavior(Span range, const std::vector<Span>& matches, SplitBehavior behavior, bool invert,
                        std::vector<Span>& out);

}  // namespace dv::tok
