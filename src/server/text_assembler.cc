#include "server/text_assembler.h"

#include <algorithm>

namespace dv::server {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t PartialSuffix(std::string_view text, std::string_view tag) {
  const size_t max = std::min(text.size(), tag.size() - 1);
  for (size_t n = max; n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

bool PromptOpensThink(std::string_view prompt) {
  while (!prompt.empty() && (prompt.back() == '\n' || prompt.back() == ' ' || prompt.back() == '\r')) {
    prompt.remove_suffix(1);
  }
  return prompt.ends_with(kOpen);
}

TextAssembler::TextAssembler(const tok::Tokenizer& tokenizer, std::vector<std::string> stop, bool split_reasoning,
                             bool starts_in_reasoning, bool keep_special)
    : detok_(tokenizer, tok::DecodeOptions{.skip_special = !keep_special}),
      stop_(std::move(stop)),
      split_(split_reasoning),
      in_reasoning_(split_reasoning && starts_in_reasoning) {
  std::erase_if(stop_, [](const std::string& s) { return s.empty(); });
}

TextDelta TextAssembler::Feed(tok::TokenId token, bool* stopped) {
  *stopped = stopped_;
  if (stopped_) return {};
  auto piece = detok_.Feed(token);
  if (!piece.ok()) return {};
  std::string text = stop_hold_ + *piece;
  stop_hold_.clear();
  // Stop strings: cut at the earliest match.
  size_t cut = std::string::npos;
  for (const auto& s : stop_) cut = std::min(cut, text.find(s));
  if (cut != std::string::npos) {
    text.resize(cut);
    stopped_ = true;
    *stopped = true;
    return Route(std::move(text), /*final=*/true);
  }
  size_t hold = 0;
  for (const auto& s : stop_) hold = std::max(hold, PartialSuffix(text, s));
  stop_hold_ = text.substr(text.size() - hold);
  text.resize(text.size() - hold);
  return Route(std::move(text), /*final=*/false);
}

TextDelta TextAssembler::Finish() {
  if (stopped_) return Route("", true);
  std::string text = stop_hold_ + detok_.Finish();
  stop_hold_.clear();
  return Route(std::move(text), /*final=*/true);
}

TextDelta TextAssembler::Route(std::string text, bool final) {
  TextDelta out;
  if (!split_) {
    out.content = std::move(text);
    return out;
  }
  std::string buf = think_hold_ + text;
  think_hold_.clear();
  while (!buf.empty()) {
    if (in_reasoning_) {
      const size_t end = buf.find(kClose);
      if (end != std::string::npos) {
        out.reasoning += buf.substr(0, end);
        buf.erase(0, end + kClose.size());
        in_reasoning_ = false;
        seen_content_ = true;  // no second reasoning block
        after_think_ = true;
        continue;
      }
      const size_t hold = final ? 0 : PartialSuffix(buf, kClose);
      out.reasoning += buf.substr(0, buf.size() - hold);
      think_hold_ = buf.substr(buf.size() - hold);
      break;
    }
    if (!seen_content_) {
      // A reasoning block may open at the very start of the output.
      size_t ws = 0;
      while (ws < buf.size() && (buf[ws] == '\n' || buf[ws] == ' ')) ++ws;
      std::string_view rest = std::string_view(buf).substr(ws);
      if (rest.starts_with(kOpen)) {
        buf.erase(0, ws + kOpen.size());
        in_reasoning_ = true;
        continue;
      }
      if (!final && kOpen.starts_with(rest)) {  // undecided: maybe a tag is coming
        think_hold_ = buf;
        break;
      }
    }
    seen_content_ = true;
    if (after_think_) {
      // The answer conventionally starts after a blank line; drop the newlines before it.
      const size_t text_start = buf.find_first_not_of('\n');
      if (text_start == std::string::npos) break;
      buf.erase(0, text_start);
      after_think_ = false;
    }
    out.content += buf;
    break;
  }
  return out;
}

}  // namespace dv::server
