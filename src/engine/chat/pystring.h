// Python `str` semantics on UTF-8 strings, as chat templates (Jinja2 running on Python) see them:
// lengths, indices and slices count code points; strip/split use Python's Unicode whitespace;
// case mapping is Unicode full case mapping (ICU root locale, as Python's str.upper/lower).
//
// All functions are pure and thread-safe. Input is expected to be valid UTF-8 (values entering
// the interpreter are validated); invalid bytes are treated as U+FFFD code points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dv::chat::py {

// True for the code points Python's str.isspace() accepts (ASCII whitespace, U+001C..U+001F,
// U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
bool IsSpace(char32_t cp);

enum class StripSide { kBoth, kLeft, kRight };
// str.strip([chars]): without `chars` strips Python whitespace, else any code point in `chars`.
std::string Strip(std::string_view s, const std::optional<std::string>& chars, StripSide side);

// str.split(sep=None, maxsplit=-1). Without `sep`, splits on runs of whitespace and drops empty
// pieces. REQUIRES: sep, when given, is non-empty (the caller reports ValueError otherwise).
std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit);
// str.splitlines() (line breaks \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029; no ends kept).
std::vector<std::string> SplitLines(std::string_view s);
// str.replace(old, new, count=-1); an empty `old` inserts `replacement` between code points.
std::string Replace(std::string_view s, std::string_view old, std::string_view replacement,
                    int64_t count);

std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
// str.capitalize(): first code point title-cased, the rest lower-cased.
std::string Capitalize(std::string_view s);
// str.title(): a cased code point after an uncased one is title-cased, others lower-cased.
std::string Title(std::string_view s);

// Number of code points.
size_t Length(std::string_view s);
// Splits into code points (each as its UTF-8 bytes).
std::vector<std::string> CodePoints(std::string_view s);

// The indices selected by Python's slice [start:stop:step] on a sequence of `length` items.
// REQUIRES: step != 0.
std::vector<size_t> SliceIndices(size_t length, std::optional<int64_t> start,
                                 std::optional<int64_t> stop, int64_t step);

// repr(float): shortest round-trip digits, "1.0", "0.1", "1e+16", "1e-05", "inf", "nan".
std::string FloatRepr(double v);
// repr(str): single quotes unless the text has ' and no ", escapes like CPython.
std::string StrRepr(std::string_view s);

}  // namespace dv::chat::py
