// Value accessors and rendering of GGUF metadata values.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/gguf/gguf.h"

namespace dv::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF values are read in place: little-endian hosts only");

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kUint8: return "u8";
    case ValueType::kInt8: return "i8";
    case ValueType::kUint16: return "u16";
    case ValueType::kInt16: return "i16";
    case ValueType::kUint32: return "u32";
    case ValueType::kInt32: return "i32";
    case ValueType::kFloat32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "u64";
    case ValueType::kInt64: return "i64";
    case ValueType::kFloat64: return "f64";
  }
  return "unknown";
}

size_t ScalarSize(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  return 0;
}

namespace {

uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Encoded size of the value starting at `p`. REQUIRES: a validated encoding.
size_t EncodedSize(ValueType type, const uint8_t* p) {
  if (type == ValueType::kString) return 8 + static_cast<size_t>(LoadU64(p));
  if (type != ValueType::kArray) return ScalarSize(type);
  uint32_t elem_raw;
  std::memcpy(&elem_raw, p, 4);
  const auto elem = static_cast<ValueType>(elem_raw);
  const uint64_t count = LoadU64(p + 4);
  size_t size = 12;
  if (ScalarSize(elem) != 0) return size + static_cast<size_t>(count) * ScalarSize(elem);
  for (uint64_t i = 0; i < count; ++i) size += EncodedSize(elem, p + size);
  return size;
}

}  // namespace

std::string_view Value::str() const {
  return {reinterpret_cast<const char*>(encoded_.data()) + 8, encoded_.size() - 8};
}

bool Value::is_integer() const {
  switch (type_) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kUint16:
    case ValueType::kInt16:
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kUint64:
    case ValueType::kInt64:
      return true;
    default:
      return false;
  }
}

Result<int64_t> Value::AsInt64() const {
  switch (type_) {
    case ValueType::kUint8: return int64_t{u8()};
    case ValueType::kInt8: return int64_t{i8()};
    case ValueType::kUint16: return int64_t{u16()};
    case ValueType::kInt16: return int64_t{i16()};
    case ValueType::kUint32: return int64_t{u32()};
    case ValueType::kInt32: return int64_t{i32()};
    case ValueType::kInt64: return i64();
    case ValueType::kUint64:
      if (u64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgument("value " + std::to_string(u64()) + " does not fit in i64");
      }
      return static_cast<int64_t>(u64());
    default:
      return InvalidArgument("expected an integer, got " + std::string(ValueTypeName(type_)));
  }
}

Result<uint64_t> Value::AsUint64() const {
  if (type_ == ValueType::kUint64) return u64();
  DV_ASSIGN_OR_RETURN(const int64_t v, AsInt64());
  if (v < 0) return InvalidArgument("expected a non-negative integer, got " + std::to_string(v));
  return static_cast<uint64_t>(v);
}

Result<double> Value::AsDouble() const {
  if (type_ == ValueType::kFloat32) return static_cast<double>(f32());
  if (type_ == ValueType::kFloat64) return f64();
  return InvalidArgument("expected a float, got " + std::string(ValueTypeName(type_)));
}

ValueType Value::array_type() const {
  uint32_t raw;
  std::memcpy(&raw, encoded_.data(), 4);
  return static_cast<ValueType>(raw);
}

uint64_t Value::array_size() const { return LoadU64(encoded_.data() + 4); }

std::vector<Value> Value::ArrayElements() const {
  const ValueType elem = array_type();
  const uint64_t count = array_size();
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(count));
  size_t pos = 12;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t size = EncodedSize(elem, encoded_.data() + pos);
    out.emplace_back(elem, encoded_.subspan(pos, size));
    pos += size;
  }
  return out;
}

std::string Value::ToString(size_t max_elements) const {
  switch (type_) {
    case ValueType::kUint8: return std::to_string(u8());
    case ValueType::kInt8: return std::to_string(i8());
    case ValueType::kUint16: return std::to_string(u16());
    case ValueType::kInt16: return std::to_string(i16());
    case ValueType::kUint32: return std::to_string(u32());
    case ValueType::kInt32: return std::to_string(i32());
    case ValueType::kUint64: return std::to_string(u64());
    case ValueType::kInt64: return std::to_string(i64());
    case ValueType::kFloat32: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(f32()));
      return buf;
    }
    case ValueType::kFloat64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", f64());
      return buf;
    }
    case ValueType::kBool: return boolean() ? "true" : "false";
    case ValueType::kString: {
      std::string out;
      out.reserve(str().size() + 2);
      out.push_back('"');
      out.append(str());
      out.push_back('"');
      return out;
    }
    case ValueType::kArray: {
      const uint64_t count = array_size();
      std::string out = "[";
      const ValueType elem = array_type();
      size_t pos = 12;
      for (uint64_t i = 0; i < count && i < max_elements; ++i) {
        const size_t size = EncodedSize(elem, encoded_.data() + pos);
        if (i > 0) out += ", ";
        out += Value(elem, encoded_.subspan(pos, size)).ToString(max_elements);
        pos += size;
      }
      if (count > max_elements) {
        out.append(", ... ");
        out.append(std::to_string(count));
        out.append(" items");
      }
      out.push_back(']');
      return out;
    }
  }
  return "?";
}

}  // namespace dv::gguf
