#include "kb/parse/zip_reader.h"

#include <zip.h>

#include <algorithm>

#include "common/utf8.h"

namespace dv::kb::internal {
namespace {

constexpr uint64_t kRatioGraceBytes = uint64_t{1} << 20;  // ratios are judged past 1 MiB

}  // namespace

Result<std::unique_ptr<ZipReader>> ZipReader::Open(std::string_view bytes, const ParseOptions& options) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!source) {
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    return InvalidArgument("cannot read ZIP data: " + text);
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!archive) {
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    zip_source_free(source);
    return InvalidArgument("not a valid ZIP archive (truncated or corrupt?): " + text);
  }
  zip_error_fini(&error);
  std::unique_ptr<ZipReader> reader(new ZipReader(archive, options));
  zip_int64_t count = zip_get_num_entries(archive, 0);
  if (count < 0) return InvalidArgument("cannot list ZIP members");
  if (static_cast<uint64_t>(count) > options.max_attachments * 10 + 10000) {
    return ResourceExhausted("ZIP archive has " + std::to_string(count) + " members");
  }
  reader->names_.reserve(static_cast<size_t>(count));
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(archive, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS);
    reader->names_.push_back(name ? utf8::Sanitize(name) : std::string());
  }
  return reader;
}

ZipReader::ZipReader(zip* archive, const ParseOptions& options) : archive_(archive), options_(options) {}

ZipReader::~ZipReader() {
  zip_discard(archive_);
}

bool ZipReader::Contains(std::string_view name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

Result<std::string> ZipReader::Read(std::string_view name) {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) return NotFound("ZIP member " + std::string(name) + " is missing");
  return ReadIndex(static_cast<uint64_t>(it - names_.begin()));
}

Result<std::string> ZipReader::ReadIndex(uint64_t index) {
  if (index >= names_.size()) return NotFound("ZIP member index out of range");
  const std::string& name = names_[index];
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(archive_, index, 0, &st) != 0) {
    return InvalidArgument("cannot stat ZIP member " + name);
  }
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
    return InvalidArgument("ZIP member " + name + " is encrypted");
  }
  const uint64_t compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? std::max<uint64_t>(st.comp_size, 1) : 1;
  zip_file_t* file = zip_fopen_index(archive_, index, 0);
  if (!file) {
    return InvalidArgument("cannot open ZIP member " + name + ": " + zip_strerror(archive_));
  }
  std::string out;
  char buffer[64 * 1024];
  Status status;
  for (;;) {
    zip_int64_t n = zip_fread(file, buffer, sizeof buffer);
    if (n < 0) {
      status = InvalidArgument("ZIP member " + name + " is corrupt: " + zip_file_strerror(file));
      break;
    }
    if (n == 0) break;
    total_inflated_ += static_cast<uint64_t>(n);
    if (total_inflated_ > options_.max_decompressed_bytes) {
      status = ResourceExhausted("ZIP members inflate beyond " + std::to_string(options_.max_decompressed_bytes) +
                                 " bytes in total (zip bomb?) while reading " + name);
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > kRatioGraceBytes &&
        static_cast<double>(out.size()) / static_cast<double>(compressed) > options_.max_compression_ratio) {
      status = ResourceExhausted("ZIP member " + name + " inflates more than " +
                                 std::to_string(static_cast<int>(options_.max_compression_ratio)) +
                                 "x its compressed size (zip bomb?)");
      break;
    }
  }
  zip_fclose(file);
  if (!status.ok()) return status;
  return out;
}

std::string ResolvePartPath(std::string_view base_dir, std::string_view target) {
  std::string joined;
  if (!target.empty() && target[0] == '/') {
    joined = std::string(target.substr(1));
  } else {
    joined = std::string(base_dir) + std::string(target);
  }
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= joined.size()) {
    size_t slash = joined.find('/', pos);
    std::string seg = joined.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back('/');
    out.append(parts[i]);
  }
  return out;
}

}  // namespace dv::kb::internal
