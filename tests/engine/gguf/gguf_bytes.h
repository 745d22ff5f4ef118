// Builds raw GGUF bytes field by field, so tests can express malformed files that GgufWriter
// (which validates everything) refuses to produce.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace dv::gguf::testing {

class GgufBytes {
 public:
  template <typename T>
  GgufBytes& Put(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof v);
    bytes_.append(buf, sizeof v);
    return *this;
  }
  GgufBytes& U32(uint32_t v) { return Put(v); }
  GgufBytes& U64(uint64_t v) { return Put(v); }
  GgufBytes& Str(std::string_view s) {
    U64(s.size());
    bytes_.append(s);
    return *this;
  }
  GgufBytes& Raw(std::string_view s) {
    bytes_.append(s);
    return *this;
  }
  // "GGUF", version, tensor count, key-value count.
  GgufBytes& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    Raw("GGUF");
    U32(version);
    U64(n_tensors);
    return U64(n_kv);
  }
  // A u32 key-value pair.
  GgufBytes& KvU32(std::string_view key, uint32_t v) { return Str(key).U32(4).U32(v); }
  GgufBytes& KvString(std::string_view key, std::string_view v) { return Str(key).U32(8).Str(v); }
  // A tensor info with up to 4 dims.
  GgufBytes& Tensor(std::string_view name, std::initializer_list<uint64_t> ne, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) U64(d);
    return U32(type).U64(offset);
  }
  // Zero bytes up to the next multiple of `alignment`.
  GgufBytes& Pad(size_t alignment = 32) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  GgufBytes& Zeros(size_t n) {
    bytes_.append(n, '\0');
    return *this;
  }

  const std::string& str() const { return bytes_; }
  std::span<const uint8_t> span() const {
    return {reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()};
  }

 private:
  std::string bytes_;
};

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace dv::gguf::testing
