#include "engine/gguf/writer.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>

#include "common/utf8.h"

namespace dv::gguf {
namespace {

template <typename T>
void Append(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof v);
  out.append(buf, sizeof v);
}

void AppendString(std::string& out, std::string_view s) {
  Append<uint64_t>(out, s.size());
  out.append(s);
}

uint64_t PaddedSize(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

}  // namespace

Status GgufWriter::AddEncoded(std::string_view key, ValueType type, std::string encoded) {
  if (key.empty() || key.size() > kMaxKeyBytes || !utf8::IsValid(key)) {
    return InvalidArgument("invalid metadata key \"" + std::string(key) + "\"");
  }
  for (const PendingKeyValue& kv : kvs_) {
    if (kv.key == key) return InvalidArgument("duplicate metadata key \"" + std::string(key) + "\"");
  }
  if (key == "general.alignment") {
    uint32_t a = 0;
    if (type == ValueType::kUint32) std::memcpy(&a, encoded.data(), 4);
    if (a == 0 || (a & (a - 1)) != 0) return InvalidArgument("general.alignment must be a u32 power of two");
  }
  kvs_.push_back({std::string(key), type, std::move(encoded)});
  return Status();
}

template <typename T>
Status GgufWriter::AddScalar(std::string_view key, ValueType type, T v) {
  std::string enc;
  Append(enc, v);
  return AddEncoded(key, type, std::move(enc));
}

Status GgufWriter::AddU8(std::string_view key, uint8_t v) { return AddScalar(key, ValueType::kUint8, v); }
Status GgufWriter::AddI8(std::string_view key, int8_t v) { return AddScalar(key, ValueType::kInt8, v); }
Status GgufWriter::AddU16(std::string_view key, uint16_t v) { return AddScalar(key, ValueType::kUint16, v); }
Status GgufWriter::AddI16(std::string_view key, int16_t v) { return AddScalar(key, ValueType::kInt16, v); }
Status GgufWriter::AddU32(std::string_view key, uint32_t v) { return AddScalar(key, ValueType::kUint32, v); }
Status GgufWriter::AddI32(std::string_view key, int32_t v) { return AddScalar(key, ValueType::kInt32, v); }
Status GgufWriter::AddU64(std::string_view key, uint64_t v) { return AddScalar(key, ValueType::kUint64, v); }
Status GgufWriter::AddI64(std::string_view key, int64_t v) { return AddScalar(key, ValueType::kInt64, v); }
Status GgufWriter::AddF32(std::string_view key, float v) { return AddScalar(key, ValueType::kFloat32, v); }
Status GgufWriter::AddF64(std::string_view key, double v) { return AddScalar(key, ValueType::kFloat64, v); }
Status GgufWriter::AddBool(std::string_view key, bool v) {
  return AddScalar(key, ValueType::kBool, static_cast<uint8_t>(v ? 1 : 0));
}

Status GgufWriter::AddString(std::string_view key, std::string_view v) {
  if (v.size() > kMaxStringBytes) return InvalidArgument("string value of \"" + std::string(key) + "\" is too long");
  std::string enc;
  AppendString(enc, v);
  return AddEncoded(key, ValueType::kString, std::move(enc));
}

Status GgufWriter::AddStringArray(std::string_view key, std::span<const std::string_view> v) {
  std::string enc;
  Append<uint32_t>(enc, static_cast<uint32_t>(ValueType::kString));
  Append<uint64_t>(enc, v.size());
  for (std::string_view s : v) {
    if (s.size() > kMaxStringBytes) return InvalidArgument("string in \"" + std::string(key) + "\" is too long");
    AppendString(enc, s);
  }
  return AddEncoded(key, ValueType::kArray, std::move(enc));
}

Status GgufWriter::AddStringArray(std::string_view key, std::span<const std::string> v) {
  std::vector<std::string_view> views(v.begin(), v.end());
  return AddStringArray(key, std::span<const std::string_view>(views));
}

namespace {
template <typename T>
std::string EncodeScalarArray(ValueType elem, std::span<const T> v) {
  std::string enc;
  Append<uint32_t>(enc, static_cast<uint32_t>(elem));
  Append<uint64_t>(enc, v.size());
  enc.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  return enc;
}
}  // namespace

Status GgufWriter::AddF32Array(std::string_view key, std::span<const float> v) {
  return AddEncoded(key, ValueType::kArray, EncodeScalarArray(ValueType::kFloat32, v));
}
Status GgufWriter::AddI32Array(std::string_view key, std::span<const int32_t> v) {
  return AddEncoded(key, ValueType::kArray, EncodeScalarArray(ValueType::kInt32, v));
}
Status GgufWriter::AddU32Array(std::string_view key, std::span<const uint32_t> v) {
  return AddEncoded(key, ValueType::kArray, EncodeScalarArray(ValueType::kUint32, v));
}

Status GgufWriter::AddValue(std::string_view key, const Value& v) {
  return AddEncoded(key, v.type(), std::string(reinterpret_cast<const char*>(v.encoded().data()), v.encoded().size()));
}

Result<uint64_t> GgufWriter::CheckTensor(std::string_view name, quant::TensorType type,
                                         std::span<const uint64_t> ne) const {
  const std::string where = "tensor " + std::string(name);
  if (name.empty() || name.size() > kMaxTensorNameBytes || !utf8::IsValid(name)) {
    return InvalidArgument("invalid tensor name \"" + std::string(name) + "\"");
  }
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) return InvalidArgument("duplicate tensor name " + std::string(name));
  }
  if (ne.empty() || ne.size() > kMaxDims) return InvalidArgument(where + ": 1 to 4 dimensions allowed");
  const std::optional<quant::TypeTraits> traits = quant::TraitsForId(static_cast<uint32_t>(type));
  if (!traits || !traits->supported) return InvalidArgument(where + ": unsupported type");
  uint64_t rows = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] == 0 || ne[d] > static_cast<uint64_t>(INT64_MAX)) return InvalidArgument(where + ": zero dimension");
    if (d > 0 && __builtin_mul_overflow(rows, ne[d], &rows)) return InvalidArgument(where + ": size overflows");
  }
  DV_ASSIGN_OR_RETURN(const uint64_t row_bytes, quant::RowBytes(type, ne[0]));
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(rows, row_bytes, &bytes)) return InvalidArgument(where + ": size overflows");
  return bytes;
}

Status GgufWriter::AddTensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> ne,
                             std::span<const uint8_t> data) {
  DV_ASSIGN_OR_RETURN(const uint64_t bytes, CheckTensor(name, type, ne));
  if (bytes != data.size()) {
    return InvalidArgument("tensor " + std::string(name) + ": " + quant::TypeName(type) + " data needs " +
                           std::to_string(bytes) + " bytes, got " + std::to_string(data.size()));
  }
  tensors_.push_back({std::string(name), type, std::vector<uint64_t>(ne.begin(), ne.end()), bytes, data, nullptr});
  return Status();
}

Status GgufWriter::AddTensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> ne,
                             TensorProducer produce) {
  DV_ASSIGN_OR_RETURN(const uint64_t bytes, CheckTensor(name, type, ne));
  if (!produce) return InvalidArgument("tensor " + std::string(name) + ": no producer");
  tensors_.push_back({std::string(name), type, std::vector<uint64_t>(ne.begin(), ne.end()), bytes, {},
                      std::move(produce)});
  return Status();
}

Result<std::span<const uint8_t>> GgufWriter::TensorBytes(const PendingTensor& t, std::vector<uint8_t>& scratch) const {
  if (!t.produce) return t.data;
  scratch.assign(static_cast<size_t>(t.n_bytes), 0);
  if (Status s = t.produce(scratch); !s.ok()) return std::move(s).AddContext("tensor " + t.name);
  return std::span<const uint8_t>(scratch);
}

uint32_t GgufWriter::Alignment() const {
  for (const PendingKeyValue& kv : kvs_) {
    if (kv.key == "general.alignment") {
      uint32_t a;
      std::memcpy(&a, kv.encoded.data(), 4);
      return a;
    }
  }
  return kDefaultAlignment;
}

std::string GgufWriter::EncodeHeader() const {
  const uint64_t alignment = Alignment();
  std::string out;
  out.append("GGUF", 4);
  Append<uint32_t>(out, version_);
  Append<uint64_t>(out, tensors_.size());
  Append<uint64_t>(out, kvs_.size());
  for (const PendingKeyValue& kv : kvs_) {
    AppendString(out, kv.key);
    Append<uint32_t>(out, static_cast<uint32_t>(kv.type));
    out.append(kv.encoded);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    AppendString(out, t.name);
    Append<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) Append<uint64_t>(out, d);
    Append<uint32_t>(out, static_cast<uint32_t>(t.type));
    Append<uint64_t>(out, offset);
    offset += PaddedSize(t.n_bytes, alignment);
  }
  // A file without tensors ends after the header (as llama.cpp's vocabulary files do).
  if (!tensors_.empty()) out.resize(PaddedSize(out.size(), alignment), '\0');
  return out;
}

uint64_t GgufWriter::DataSectionBytes() const {
  uint64_t total = 0;
  for (const PendingTensor& t : tensors_) total += PaddedSize(t.n_bytes, Alignment());
  return total;
}

Result<std::string> GgufWriter::WriteToString() const {
  const uint64_t alignment = Alignment();
  std::string out = EncodeHeader();
  std::vector<uint8_t> scratch;
  for (const PendingTensor& t : tensors_) {
    DV_ASSIGN_OR_RETURN(const std::span<const uint8_t> data, TensorBytes(t, scratch));
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    out.resize(PaddedSize(out.size(), alignment), '\0');
  }
  return out;
}

Status GgufWriter::WriteToFile(const std::filesystem::path& path) const {
  const uint64_t alignment = Alignment();
  const std::filesystem::path tmp = path.string() + ".tmp";
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> f(std::fopen(tmp.c_str(), "wb"));
  if (!f) return InvalidArgument("cannot create " + tmp.string() + ": " + std::strerror(errno));
  const std::string header = EncodeHeader();
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  static const char kZeros[4096] = {};
  std::vector<uint8_t> scratch;
  for (const PendingTensor& t : tensors_) {
    if (!ok) break;
    auto data = TensorBytes(t, scratch);
    if (!data.ok()) {
      f.reset();
      std::filesystem::remove(tmp);
      return std::move(data).error();
    }
    ok = std::fwrite(data->data(), 1, data->size(), f.get()) == data->size();
    uint64_t pad = PaddedSize(data->size(), alignment) - data->size();
    while (ok && pad > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, sizeof kZeros));
      ok = std::fwrite(kZeros, 1, n, f.get()) == n;
      pad -= n;
    }
  }
  ok = ok && std::fflush(f.get()) == 0 && ::fsync(::fileno(f.get())) == 0;
  const int err = errno;
  f.reset();
  if (!ok) {
    std::filesystem::remove(tmp);
    return Internal("writing " + tmp.string() + " failed: " + std::strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    return Internal("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
  return Status();
}

}  // namespace dv::gguf
