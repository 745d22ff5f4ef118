// A read-only memory mapping of a whole file (RAII). Pages are loaded on first access.
//
// Thread safety: the bytes are immutable; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "deepvault/status.h"

namespace dv::gguf {

class MappedFile {
 public:
  // NotFound when the file does not exist, InvalidArgument for a directory or an empty file.
  static Result<std::unique_ptr<MappedFile>> Open(const std::filesystem::path& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_;
  size_t size_;
};

}  // namespace dv::gguf
