// Safetensors reader (Hugging Face weight files), mapped, not copied.
//
// Format: u64 little-endian header length N, N bytes of JSON, then the data buffer. The JSON maps
// each tensor name to {"dtype": "F16", "shape": [rows, cols], "data_offsets": [begin, end]} with
// offsets relative to the data buffer; the optional "__metadata__" maps strings to strings.
// Shapes are outermost-first (PyTorch order), unlike GGUF's ne[].
//
// Open() validates everything later accesses rely on: header length within the file and at most
// 100 MiB, well-formed JSON, known dtype, shape entries non-negative with an element count that
// does not overflow, begin <= end <= buffer size, end - begin == elements * dtype size, no two
// tensors overlapping. Only F32, F16 and BF16 tensors can be opened; others fail naming the
// tensor and dtype.
//
// Ownership: a SafetensorsFile owns its mapping; TensorView::bytes stay valid while it lives
// (moving it keeps them valid). Thread safety: const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"

namespace dv::safetensors {

inline constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
inline constexpr size_t kMaxDims = 8;

enum class DType { kF32, kF16, kBF16 };

std::string_view DTypeName(DType dtype);  // "F32", "F16", "BF16"
size_t DTypeSize(DType dtype);

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;  // outermost first; empty for a scalar
  uint64_t n_elements = 0;
  std::span<const uint8_t> bytes;
};

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> Open(const std::filesystem::path& path);
  // Parses `bytes` in place. REQUIRES: `bytes` outlives the returned object.
  static Result<SafetensorsFile> OpenBuffer(std::span<const uint8_t> bytes, std::string name = "<buffer>");

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const;
  // Sorted by data offset (the order in the file).
  const std::vector<TensorView>& tensors() const;
  const TensorView* Find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const;

 private:
  struct State;
  explicit SafetensorsFile(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace dv::safetensors
