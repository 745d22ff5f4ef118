// Turning untrusted request bodies into JSON values, and typed field access with clear errors.
//
// ParseJsonObject checks, before nlohmann's recursive parser ever sees the text: valid UTF-8
// (offset of the first bad byte), and nesting depth (a linear scan that skips string contents).
// Field getters return InvalidArgument naming the field, what was expected and what was found,
// in the words an API user understands ("max_tokens must be an integer in [1, 1048576], got -5").
//
// Thread safety: free functions; no shared state.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"

namespace dv::server {

using Json = nlohmann::json;

inline constexpr int kMaxJsonDepth = 64;

// Parses `body` as one JSON object. InvalidArgument for empty bodies, invalid UTF-8, nesting deeper
// than `max_depth`, syntax errors (with the byte offset) and non-object documents.
Result<Json> ParseJsonObject(std::string_view body, int max_depth = kMaxJsonDepth);

// The deepest nesting of arrays/objects in `text` (strings skipped); stops counting early once
// `limit` is exceeded and returns limit + 1.
int JsonNestingDepth(std::string_view text, int limit);

// Typed optional fields of `obj`. Absent or null → std::nullopt. Wrong type or out of range →
// InvalidArgument("<field> must be ..."). `field` is the name reported (e.g. "options.top_k").
Result<std::optional<bool>> GetBool(const Json& obj, const char* key, std::string_view field = {});
Result<std::optional<int64_t>> GetInt(const Json& obj, const char* key, int64_t min, int64_t max,
                                      std::string_view field = {});
Result<std::optional<double>> GetNumber(const Json& obj, const char* key, double min, double max,
                                        std::string_view field = {});
Result<std::optional<std::string>> GetString(const Json& obj, const char* key, std::string_view field = {});
// A string or an array of strings (e.g. "stop"); at most `max_items` items.
Result<std::optional<std::vector<std::string>>> GetStringOrList(const Json& obj, const char* key, size_t max_items,
                                                               std::string_view field = {});

// The JSON type name as API errors show it: "string", "integer", "number", "object", ...
std::string_view JsonTypeName(const Json& value);

}  // namespace dv::server
