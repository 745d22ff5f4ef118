// Turns one sequence's generated tokens into the text deltas an API response carries:
//   tokens → UTF-8 text (never splitting a character) → stop strings (text from the first stop
//   string on is dropped; a possible stop-string prefix is held back until decided) →
//   reasoning split (R1-style "<think> ... </think>": reasoning vs answer content).
//
// The output may start inside a reasoning block: DeepSeek-R1 templates end the prompt with
// "<think>\n", so the model's first tokens are already reasoning (`starts_in_reasoning`).
//
// Thread safety: one per sequence; not shared.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace dv::server {

struct TextDelta {
  std::string reasoning;
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

class TextAssembler {
 public:
  // `split_reasoning` false: everything is content (think tags included, as generated).
  // `keep_special`: control tokens are kept as their text (tool-call markers of some models are
  // control tokens); otherwise they are dropped.
  TextAssembler(const tok::Tokenizer& tokenizer, std::vector<std::string> stop, bool split_reasoning,
                bool starts_in_reasoning, bool keep_special = false);

  // Adds a token. Returns the text that became final. Sets *stopped when a stop string was hit
  // (the caller ends the sequence; later calls return nothing).
  TextDelta Feed(tok::TokenId token, bool* stopped);
  // The held-back text at the end of generation (no stop string followed).
  TextDelta Finish();

  bool stopped() const { return stopped_; }

 private:
  TextDelta Route(std::string text, bool final);

  tok::StreamingDetokenizer detok_;
  std::vector<std::string> stop_;
  bool split_;
  bool in_reasoning_;
  bool seen_content_ = false;
  bool after_think_ = false;  // drop newlines between </think> and the answer
  bool stopped_ = false;
  std::string stop_hold_;   // text that may begin a stop string
  std::string think_hold_;  // text that may begin a think tag
};

// True when `prompt` (the rendered chat prompt) leaves the model inside an open <think> block.
bool PromptOpensThink(std::string_view prompt);

}  // namespace dv::server
