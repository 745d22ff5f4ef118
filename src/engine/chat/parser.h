// Parser: token stream → syntax tree, following Jinja2's grammar and operator precedence
// (lowest first: x if c else y; or; and; not; comparisons and `in`; + -; ~; * / // %; **;
// unary - +; postfix . [] (); filters `|` and tests `is`).
#pragma once

#include <string_view>

#include "engine/chat/ast.h"

namespace dv::chat {

// Parses a whole template. Throws TemplateError ("template syntax error at line N: ...") on
// malformed input, unsupported tags (include/import/extends: templates cannot read files), or
// nesting deeper than `max_depth` (expressions and blocks together).
Body ParseTemplate(std::string_view source, int max_depth);

}  // namespace dv::chat
