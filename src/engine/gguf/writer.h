// GGUF writer: builds a GGUF v3 (or v2) file from metadata and tensors.
//
// Layout written: header, key-value pairs and tensor infos in the order they were added, zero
// padding to the alignment, then each tensor's bytes followed by zero padding to the alignment
// (the layout llama.cpp writes; a file without tensors ends right after the header). The
// alignment is `general.alignment` when that key was added (a u32 power of two), else 32.
// Reading a file and adding its metadata and tensors in order reproduces it byte for byte.
//
// Every Add* validates its input (key syntax and uniqueness, tensor shape and byte size), so the
// writer cannot produce a file the reader would reject.
//
// Ownership: tensor data (and whatever a producer reads) is borrowed: it must stay valid until
// Write* returns.
// Thread safety: none; one writer per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/gguf/gguf.h"
#include "engine/quant/tensor_type.h"

namespace dv::gguf {

class GgufWriter {
 public:
  // REQUIRES: version is 2 or 3.
  explicit GgufWriter(uint32_t version = 3) : version_(version) {}

  Status AddU8(std::string_view key, uint8_t v);
  Status AddI8(std::string_view key, int8_t v);
  Status AddU16(std::string_view key, uint16_t v);
  Status AddI16(std::string_view key, int16_t v);
  Status AddU32(std::string_view key, uint32_t v);
  Status AddI32(std::string_view key, int32_t v);
  Status AddU64(std::string_view key, uint64_t v);
  Status AddI64(std::string_view key, int64_t v);
  Status AddF32(std::string_view key, float v);
  Status AddF64(std::string_view key, double v);
  Status AddBool(std::string_view key, bool v);
  Status AddString(std::string_view key, std::string_view v);
  Status AddStringArray(std::string_view key, std::span<const std::string_view> v);
  Status AddStringArray(std::string_view key, std::span<const std::string> v);
  Status AddF32Array(std::string_view key, std::span<const float> v);
  Status AddI32Array(std::string_view key, std::span<const int32_t> v);
  Status AddU32Array(std::string_view key, std::span<const uint32_t> v);
  // Copies a value read by GgufFile (any type, including nested arrays).
  Status AddValue(std::string_view key, const Value& v);

  // Adds a tensor; `ne` has 1..4 dims, ne[0] the row length. `data` must hold exactly the
  // tensor's byte size for `type`.
  Status AddTensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> ne,
                   std::span<const uint8_t> data);
  // Fills a tensor's bytes (exactly its byte size) when the file is written.
  using TensorProducer = std::function<Status(std::span<uint8_t> out)>;
  // Adds a tensor whose data `produce` computes during Write*, one tensor in memory at a time.
  Status AddTensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> ne,
                   TensorProducer produce);

  // Writes the file through a temporary in the same directory, then renames it into place.
  Status WriteToFile(const std::filesystem::path& path) const;
  // The whole file in memory (for tests and small files).
  Result<std::string> WriteToString() const;
  // The bytes before the data section (header, metadata, tensor infos, padding), and the size of
  // the data section that follows: lets a caller lay out a file without producing tensor data.
  std::string HeaderBytes() const { return EncodeHeader(); }
  uint64_t DataSectionBytes() const;

 private:
  struct PendingKeyValue {
    std::string key;
    ValueType type;
    std::string encoded;  // the value's bytes as stored in the file
  };
  struct PendingTensor {
    std::string name;
    quant::TensorType type;
    std::vector<uint64_t> ne;
    uint64_t n_bytes = 0;
    std::span<const uint8_t> data;  // used when `produce` is empty
    TensorProducer produce;
  };

  // Validates name and shape; returns the tensor's byte size.
  Result<uint64_t> CheckTensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> ne) const;
  // The tensor's bytes: `data`, or produced into `scratch`.
  Result<std::span<const uint8_t>> TensorBytes(const PendingTensor& t, std::vector<uint8_t>& scratch) const;

  Status AddEncoded(std::string_view key, ValueType type, std::string encoded);
  template <typename T>
  Status AddScalar(std::string_view key, ValueType type, T v);
  uint32_t Alignment() const;
  // Header, metadata, tensor infos and the padding before the data section.
  std::string EncodeHeader() const;

  uint32_t version_;
  std::vector<PendingKeyValue> kvs_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace dv::gguf
