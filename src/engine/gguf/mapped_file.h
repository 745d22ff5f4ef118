// The bytes of a whole file in memory, read-only (RAII), in one of two ways:
//   kMap        a file mapping: pages are loaded on first access and shared with the page cache
//               (instant start, no extra memory; each 4 KiB page costs a TLB entry);
//   kHugePages  a private copy read into anonymous memory advised for 2 MiB transparent huge pages
//               (one TLB entry per 2 MiB: streaming weights through the cores for every generated
//               token is measurably faster). The file's pages stay in the page cache (reclaimable;
//               a second load of the same file copies from memory instead of the disk).
//               Falls back to kMap when transparent huge pages are disabled ("never"), the file would take more than three quarters of the
//               available memory (MemAvailable) or the anonymous allocation fails.
//
// Thread safety: the bytes are immutable; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "deepvault/status.h"

namespace dv::gguf {

enum class MapMode { kMap, kHugePages };

// Whether the kernel hands out transparent huge pages to memory advised for them
// (/sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise").
bool TransparentHugePagesEnabled();

class MappedFile {
 public:
  // NotFound when the file does not exist, InvalidArgument for a directory or an empty file,
  // DataLoss when reading the copy fails.
  static Result<std::unique_ptr<MappedFile>> Open(const std::filesystem::path& path, MapMode mode = MapMode::kMap);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // The mode in effect (kMap after a fallback).
  MapMode mode() const { return mode_; }

 private:
  static Result<std::unique_ptr<MappedFile>> ReadIntoHugePages(int fd, size_t size);
  MappedFile(const uint8_t* data, size_t size, void* region, size_t region_size, MapMode mode)
      : data_(data), size_(size), region_(region), region_size_(region_size), mode_(mode) {}
  const uint8_t* data_;
  size_t size_;
  void* region_;        // what munmap releases
  size_t region_size_;
  MapMode mode_;
};

}  // namespace dv::gguf
