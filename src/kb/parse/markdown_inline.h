// Markdown inline markup → plain text (CommonMark subset): code spans keep their content, links
// and images keep their text / alt text, emphasis and strike-through markers, inline HTML tags and
// comments are dropped, backslash escapes and HTML entities are resolved. Linear time in the input
// length (brackets and code spans are matched in one pass), so hostile input cannot blow up.
#pragma once

#include <string>
#include <string_view>

namespace dv::kb::internal {

std::string StripMarkdownInline(std::string_view text);

// Appends the UTF-8 text of HTML entity `entity` (the part between '&' and ';', e.g. "amp",
// "#20320", "#x4F60") to `out`; false when it is not a known entity.
bool AppendHtmlEntity(std::string_view entity, std::string& out);

}  // namespace dv::kb::internal
