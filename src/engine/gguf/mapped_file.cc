#include "engine/gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace dv::gguf {

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::filesystem::path& path, MapMode mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = "cannot open: " + std::string(std::strerror(err));
    return err == ENOENT ? NotFound(std::move(msg)) : InvalidArgument(std::move(msg));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return InvalidArgument("cannot stat: " + std::string(std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("not a regular file");
  }
  if (st.st_size <= 0) {
    ::close(fd);
    return InvalidArgument("file is empty");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (mode == MapMode::kHugePages) {
    auto copy = ReadIntoHugePages(fd, size);
    if (!copy.ok() || *copy != nullptr) {
      ::close(fd);
      return copy;
    }
    // No anonymous memory for the copy: map the file instead.
  }
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file referenced
  if (addr == MAP_FAILED) return InvalidArgument("cannot map: " + std::string(std::strerror(err)));
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const uint8_t*>(addr), size, addr, size, MapMode::kMap));
}

namespace {

// Bytes the kernel could give us without swapping (MemAvailable), or 0 when unknown.
uint64_t AvailableMemory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
      kib = v;
      break;
    }
  }
  std::fclose(f);
  return kib * 1024;
}

}  // namespace

bool TransparentHugePagesEnabled() {
  std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f == nullptr) return false;
  char line[128] = {};
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  // "always [madvise] never": the bracketed word is the current setting.
  return read && std::strstr(line, "[never]") == nullptr;
}

// A copy of the file's `size` bytes in 2 MiB-aligned anonymous memory advised for huge pages;
// nullptr (not an error) when that memory cannot be had.
Result<std::unique_ptr<MappedFile>> MappedFile::ReadIntoHugePages(int fd, size_t size) {
  constexpr size_t kHuge = size_t{2} << 20;
  constexpr size_t kChunk = size_t{64} << 20;
  const size_t rounded = (size + kHuge - 1) / kHuge * kHuge;
  const size_t region_size = rounded + kHuge;  // room to align the start
  if (!TransparentHugePagesEnabled()) return std::unique_ptr<MappedFile>();  // a 4 KiB copy gains nothing
  // Keep a quarter of the available memory (at least 1 GiB) for everything else.
  const uint64_t available = AvailableMemory();
  if (available == 0 || region_size + std::max<uint64_t>(available / 4, uint64_t{1} << 30) > available) {
    return std::unique_ptr<MappedFile>();
  }
  void* region = ::mmap(nullptr, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) return std::unique_ptr<MappedFile>();
  auto* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(region) + kHuge - 1) / kHuge * kHuge);
  ::madvise(base, rounded, MADV_HUGEPAGE);  // advice only: without THP the copy still works
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::pread(fd, base + done, std::min(size - done, kChunk), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::munmap(region, region_size);
      return DataLoss(n == 0 ? "file shrank while reading it" : "cannot read: " + std::string(std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  ::mprotect(base, rounded, PROT_READ);
  return std::unique_ptr<MappedFile>(new MappedFile(base, size, region, region_size, MapMode::kHugePages));
}

MappedFile::~MappedFile() { ::munmap(region_, region_size_); }

}  // namespace dv::gguf
