#include "engine/tokenizer/regex.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

#include <string>

#include "common/utf8.h"

namespace dv::tok {
namespace {

// Oniguruma's \s is the White_Space property; ICU's is [\t\n\f\r\p{Z}]. Rewrite so both agree.
std::string RewriteForIcu(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += pattern[i];
        out += next;
      }
      ++i;
      continue;
    }
    out += pattern[i];
  }
  return out;
}

class IcuRegex final : public PieceRegex {
 public:
  explicit IcuRegex(std::unique_ptr<icu::RegexPattern> pattern) : pattern_(std::move(pattern)) {}

  void FindMatches(std::string_view text, std::vector<Span>& out) const override {
    UErrorCode status = U_ZERO_ERROR;
    UText* ut = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &status);
    std::unique_ptr<icu::RegexMatcher> matcher(pattern_->matcher(status));
    if (U_FAILURE(status) || matcher == nullptr) {
      utext_close(ut);
      return;
    }
    matcher->reset(ut);
    while (matcher->find(status) && U_SUCCESS(status)) {
      const int64_t b = matcher->start64(status);
      const int64_t e = matcher->end64(status);
      if (U_FAILURE(status)) break;
      if (e > b) out.push_back(Span{static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
    }
    matcher.reset();
    utext_close(ut);
  }

  std::string_view engine() const override { return "icu"; }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;
};

}  // namespace

Result<std::unique_ptr<PieceRegex>> CompileIcuRegex(std::string_view pattern) {
  if (!utf8::IsValid(pattern)) return InvalidArgument("split pattern is not valid UTF-8");
  const std::string rewritten = RewriteForIcu(pattern);
  const icu::UnicodeString upattern =
      icu::UnicodeString::fromUTF8(icu::StringPiece(rewritten.data(), static_cast<int32_t>(rewritten.size())));
  UParseError parse_error{};
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexPattern> compiled(icu::RegexPattern::compile(upattern, 0, parse_error, status));
  if (U_FAILURE(status) || compiled == nullptr) {
    return InvalidArgument("cannot compile split regex \"" + std::string(pattern) + "\": " +
                           u_errorName(status) + " at offset " + std::to_string(parse_error.offset));
  }
  return std::unique_ptr<PieceRegex>(std::make_unique<IcuRegex>(std::move(compiled)));
}

Result<std::unique_ptr<PieceRegex>> CompileRegex(std::string_view pattern) {
  if (auto known = MakeKnownRegex(pattern)) return known;
  return CompileIcuRegex(pattern);
}

}  // namespace dv::tok
