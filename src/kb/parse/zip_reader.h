// Read-only view of a ZIP archive held in memory (libzip), hardened against zip bombs: member
// sizes declared in headers are never trusted; bytes are counted while inflating, and reading
// stops as soon as the archive-wide total or one member's compression ratio passes its limit.
//
// Not thread-safe: one ZipReader per thread. The archive bytes must outlive the reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "kb/parse/parser.h"

struct zip;  // libzip's archive handle (zip_t)

namespace dv::kb::internal {

class ZipReader {
 public:
  // Opens `bytes` as a ZIP archive (InvalidArgument when it is not one, or is truncated).
  static Result<std::unique_ptr<ZipReader>> Open(std::string_view bytes, const ParseOptions& options);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  // Member names in archive order (directories included, ending in '/').
  const std::vector<std::string>& names() const { return names_; }
  bool Contains(std::string_view name) const;

  // Inflates member `name`. NotFound when absent; ResourceExhausted when a limit is hit;
  // InvalidArgument for a corrupt or encrypted member.
  Result<std::string> Read(std::string_view name);
  Result<std::string> ReadIndex(uint64_t index);

  uint64_t total_inflated() const { return total_inflated_; }

 private:
  ZipReader(::zip* archive, const ParseOptions& options);

  ::zip* archive_;
  ParseOptions options_;
  std::vector<std::string> names_;
  uint64_t total_inflated_ = 0;
};

// Resolves a relationship target (OOXML _rels) against the directory of the part that owns it:
// ("xl/", "worksheets/sheet1.xml") → "xl/worksheets/sheet1.xml"; "/xl/x.xml" → "xl/x.xml";
// ".." segments are resolved and can never climb above the archive root.
std::string ResolvePartPath(std::string_view base_dir, std::string_view target);

}  // namespace dv::kb::internal
