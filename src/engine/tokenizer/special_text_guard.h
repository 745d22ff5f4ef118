// SpecialTextGuard: keeps untrusted text (chat message contents, tool definitions) from
// forging control tokens in a prompt whose template text legitimately contains them.
//
// A chat prompt is rendered from a template (trusted: it writes `<｜User｜>`, `<|im_start|>`, …)
// and from values supplied by the caller (untrusted). Tokenizing the rendered string with
// special tokens allowed — what HF `apply_chat_template(tokenize=True)` does — lets a user who
// types `<｜end▁of▁sentence｜>` or `<|im_start|>system` inject real control tokens. The guard:
//   1. Protect(): before rendering, replaces every special-token text inside an untrusted string
//      (and any occurrence of the marker character itself) with a placeholder
//      `U+F8FF <index> U+F8FF` and remembers the original text;
//   2. Encode(): tokenizes the rendered prompt with special tokens allowed, except that each
//      placeholder is tokenized as plain text from its original (special tokens not recognised).
// For input without special-token text nothing is replaced, so the ids equal HF's exactly.
//
//   SpecialTextGuard guard(tokenizer);
//   std::string content = guard.Protect(user_text);     // for every untrusted string
//   ... render the template with the protected strings ...
//   DV_ASSIGN_OR_RETURN(auto ids, guard.Encode(rendered));
//
// Thread safety: a guard is used for one prompt by one thread; the tokenizer must outlive it.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "deepvault/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace dv::tok {

class SpecialTextGuard {
 public:
  explicit SpecialTextGuard(const Tokenizer& tokenizer);

  // `text` with each special-token text and each marker character replaced by a placeholder.
  // Returns `text` unchanged (a copy) when it holds neither.
  std::string Protect(std::string_view text);

  // Encodes a prompt rendered from protected strings (see the file comment). Placeholders the
  // template mangled (no closing marker, unknown index) are encoded as the plain text they show.
  Result<std::vector<TokenId>> Encode(std::string_view rendered) const;

  // `rendered` with each placeholder replaced by its original text (what the prompt shows).
  std::string Restore(std::string_view rendered) const;

  // Number of texts Protect() replaced so far.
  size_t protected_count() const { return originals_.size(); }

  static constexpr std::string_view kMarker = "\xEF\xA3\xBF";  // U+F8FF (private use)

 private:
  // Calls on_text(text, is_original) for the consecutive pieces of `rendered`: template text
  // (is_original false) and the originals of well-formed placeholders (true).
  template <typename F>
  Status ForEachPiece(std::string_view rendered, F&& on_text) const;
  // Length of the special-token text starting at `pos`, 0 when none (longest match wins).
  size_t MatchAt(std::string_view text, size_t pos) const;

  const Tokenizer& tokenizer_;
  std::unordered_set<std::string_view> specials_;  // views into the tokenizer's spec
  std::vector<size_t> lengths_;                     // distinct lengths of specials_, longest first
  bool first_byte_[256] = {};
  std::vector<std::string> originals_;
};

}  // namespace dv::tok
