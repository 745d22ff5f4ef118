#include "engine/gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace dv::gguf {

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::filesystem::path& path) {
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
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file referenced
  if (addr == MAP_FAILED) return InvalidArgument("cannot map: " + std::string(std::strerror(err)));
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const uint8_t*>(addr), size));
}

MappedFile::~MappedFile() { ::munmap(const_cast<uint8_t*>(data_), size_); }

}  // namespace dv::gguf
