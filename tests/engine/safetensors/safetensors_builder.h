// Builds safetensors files in tests: header JSON and data buffer assembled from parts.
#pragma once

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace dv::safetensors::testing {

class SafetensorsBuilder {
 public:
  // Appends a tensor whose bytes are `data`, recording dtype, shape and offsets.
  SafetensorsBuilder& Add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
                          const std::string& data) {
    header_[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data_.size(), data_.size() + data.size()}}};
    data_ += data;
    return *this;
  }
  template <typename T>
  SafetensorsBuilder& AddValues(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
                                const std::vector<T>& values) {
    return Add(name, dtype, std::move(shape),
               std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  }
  nlohmann::json& header() { return header_; }
  std::string& data() { return data_; }

  std::string Build() const { return BuildWithHeader(header_.dump()); }
  std::string BuildWithHeader(const std::string& header_text) const {
    std::string out(8, '\0');
    const uint64_t n = header_text.size();
    std::memcpy(out.data(), &n, 8);
    return out + header_text + data_;
  }

 private:
  nlohmann::json header_ = nlohmann::json::object();
  std::string data_;
};

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace dv::safetensors::testing
