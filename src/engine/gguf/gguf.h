// GGUF reader: metadata and tensor table of a GGUF v2/v3 model, tensor data mapped, not copied.
//
// Format (all little-endian): "GGUF", u32 version, u64 tensor count, u64 key-value count, the
// key-value pairs (string key, u32 value type, value), the tensor infos (string name, u32 n_dims,
// u64 ne[n_dims], u32 ggml type, u64 offset), padding to `general.alignment` (default 32), then
// the data section; each tensor's offset is relative to the data section and aligned. A string
// is a u64 byte length followed by the bytes; an array is u32 element type, u64 count, elements.
//
// Open() validates everything that a later access relies on: every count, length, dimension and
// offset is checked against the file size with overflow-safe arithmetic, so a hostile file fails
// with a specific message and never causes an out-of-bounds read. Opening reads only the header
// and tensor table (milliseconds for multi-GB files); tensor bytes are paged in on first touch.
//
// Split models (`name-00001-of-00003.gguf`, keys split.no / split.count / split.tensors.count) open
// as one model from the first shard: the tensor tables are merged, the metadata is the first
// shard's.
//
// Ownership: a GgufFile owns its mappings; every string_view, Value and TensorInfo::data it hands
// out stays valid while the GgufFile lives (moving it keeps them valid). OpenBuffer borrows the
// caller's bytes instead. A mapped file must not be truncated while open (reads past the new end
// would fault); replacing it by rename is safe. Thread safety: const methods may be called
// concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "deepvault/status.h"
#include "engine/gguf/mapped_file.h"
#include "engine/quant/tensor_type.h"

namespace dv::gguf {

inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;
inline constexpr uint64_t kMaxStringBytes = 64ull << 20;  // any string value, key or name
inline constexpr uint32_t kMaxArrayDepth = 8;             // arrays of arrays of ...
inline constexpr uint64_t kMaxKeyBytes = 65535;
inline constexpr uint64_t kMaxTensorNameBytes = 256;
inline constexpr uint32_t kMaxSplitCount = 9999;

enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "u8", "i32", "f32", "bool", "string", "array", ...
std::string_view ValueTypeName(ValueType type);
// Encoded size of a scalar of this type; 0 for kString and kArray.
size_t ScalarSize(ValueType type);

// One metadata value: a validated view into the file's bytes.
class Value {
 public:
  Value() = default;
  // REQUIRES: `encoded` is a validated encoding of a value of `type` (as produced by the reader).
  Value(ValueType type, std::span<const uint8_t> encoded) : type_(type), encoded_(encoded) {}

  ValueType type() const { return type_; }
  // The value's bytes as stored in the file (without the type tag).
  std::span<const uint8_t> encoded() const { return encoded_; }

  // Scalar accessors. REQUIRES: type() is the named type.
  uint8_t u8() const { return Load<uint8_t>(); }
  int8_t i8() const { return Load<int8_t>(); }
  uint16_t u16() const { return Load<uint16_t>(); }
  int16_t i16() const { return Load<int16_t>(); }
  uint32_t u32() const { return Load<uint32_t>(); }
  int32_t i32() const { return Load<int32_t>(); }
  uint64_t u64() const { return Load<uint64_t>(); }
  int64_t i64() const { return Load<int64_t>(); }
  float f32() const { return Load<float>(); }
  double f64() const { return Load<double>(); }
  bool boolean() const { return encoded_[0] != 0; }
  std::string_view str() const;  // REQUIRES: type() == kString

  bool is_integer() const;
  bool is_float() const { return type_ == ValueType::kFloat32 || type_ == ValueType::kFloat64; }
  // Any integer type as int64 / uint64. Fail when not an integer or out of range.
  Result<int64_t> AsInt64() const;
  Result<uint64_t> AsUint64() const;
  // f32 or f64 as double. Fails otherwise.
  Result<double> AsDouble() const;

  // Arrays. REQUIRES: type() == kArray.
  ValueType array_type() const;
  uint64_t array_size() const;
  // Every element in order (strings and nested arrays are walked once).
  std::vector<Value> ArrayElements() const;

  // Human-readable rendering; arrays longer than `max_elements` are elided ("[1, 2, ... 512 items]").
  std::string ToString(size_t max_elements = 8) const;

 private:
  template <typename T>
  T Load() const {
    T v;
    __builtin_memcpy(&v, encoded_.data(), sizeof v);
    return v;
  }
  ValueType type_ = ValueType::kUint8;
  std::span<const uint8_t> encoded_;
};

struct KeyValue {
  std::string_view key;
  Value value;
};

struct TensorInfo {
  std::string_view name;
  quant::TensorType type = quant::TensorType::kF32;
  uint32_t n_dims = 0;
  std::array<uint64_t, kMaxDims> ne = {1, 1, 1, 1};  // ne[0] = row length (innermost); unused dims are 1
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t offset = 0;  // from the start of its shard's data section
  uint32_t shard = 0;   // which file of a split model holds the data
  const uint8_t* data = nullptr;  // n_bytes bytes inside the mapping

  std::span<const uint8_t> bytes() const { return {data, static_cast<size_t>(n_bytes)}; }
  uint64_t row_length() const { return ne[0]; }
  uint64_t n_rows() const { return n_elements / ne[0]; }
  uint64_t row_bytes() const { return n_bytes / n_rows(); }
  // "[256, 512]"
  std::string ShapeString() const;
};

struct OpenOptions {
  // Open the other shards when the file is the first of a split model.
  bool follow_splits = true;
  // How the files' bytes are held (mapped_file.h): kHugePages for weights that are streamed per
  // token, kMap for metadata-only opens.
  MapMode map_mode = MapMode::kMap;
};

class GgufFile {
 public:
  static Result<GgufFile> Open(const std::filesystem::path& path, const OpenOptions& options = {});
  // Parses `bytes` in place. REQUIRES: `bytes` outlives the returned object. Split keys are
  // checked but other shards are not looked for.
  static Result<GgufFile> OpenBuffer(std::span<const uint8_t> bytes, std::string name = "<buffer>");

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  // Path of the first shard (or the name given to OpenBuffer).
  const std::string& path() const;
  uint32_t version() const;
  uint32_t alignment() const;
  // Byte offset of the first shard's data section.
  uint64_t data_offset() const;
  size_t shard_count() const;
  // Total bytes of all shards.
  uint64_t file_size() const;

  // Metadata of the first shard, in file order.
  const std::vector<KeyValue>& metadata() const;
  // nullptr when absent.
  const Value* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // Typed getters: NotFound for a missing key, InvalidArgument naming the key and both types for
  // a wrong type. GetUnsigned accepts any non-negative integer type, GetFloat f32 or f64.
  Result<std::string_view> GetString(std::string_view key) const;
  Result<uint32_t> GetU32(std::string_view key) const;
  Result<uint64_t> GetU64(std::string_view key) const;
  Result<int32_t> GetI32(std::string_view key) const;
  Result<float> GetF32(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<uint64_t> GetUnsigned(std::string_view key) const;
  Result<double> GetFloat(std::string_view key) const;
  // Array getters check the element type exactly. Strings are views into the mapping.
  Result<Value> GetArray(std::string_view key) const;
  Result<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  Result<std::vector<float>> GetF32Array(std::string_view key) const;
  Result<std::vector<int32_t>> GetI32Array(std::string_view key) const;
  Result<std::vector<uint32_t>> GetU32Array(std::string_view key) const;

  // All tensors of all shards, in file order.
  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* FindTensor(std::string_view name) const;
  // Like FindTensor, but NotFound with the name when absent.
  Result<const TensorInfo*> GetTensor(std::string_view name) const;

 private:
  struct State;
  explicit GgufFile(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// For split models: the path of shard `index` (0-based) of `count` next to `first_shard`, e.g.
// "m-00002-of-00003.gguf". Fails when `first_shard` does not follow the naming scheme.
Result<std::filesystem::path> SplitShardPath(const std::filesystem::path& first_shard, uint32_t index,
                                             uint32_t count);

}  // namespace dv::gguf
