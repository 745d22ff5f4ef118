#include "engine/safetensors/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "common/utf8.h"
#include "engine/gguf/mapped_file.h"

namespace dv::safetensors {

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
  }
  return "?";
}

size_t DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

namespace {

using nlohmann::json;

// Dtypes the format defines; only the first three can be loaded.
std::optional<DType> ParseDType(const std::string& s, bool* known) {
  static const char* kOther[] = {"F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3",
                                 "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};
  *known = true;
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  *known = std::find(std::begin(kOther), std::end(kOther), s) != std::end(kOther);
  return std::nullopt;
}

Result<uint64_t> GetUnsigned(const json& v, const std::string& what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return InvalidArgument(what + " must be a non-negative integer");
  }
  return v.get<uint64_t>();
}

Status ParseTensor(const std::string& name, const json& entry, uint64_t buffer_size, const uint8_t* buffer,
                   TensorView* t) {
  const std::string where = "tensor " + name;
  if (!entry.is_object()) return InvalidArgument(where + ": entry is not an object");
  const auto dtype_it = entry.find("dtype");
  const auto shape_it = entry.find("shape");
  const auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || !dtype_it->is_string()) return InvalidArgument(where + ": missing string \"dtype\"");
  if (shape_it == entry.end() || !shape_it->is_array()) return InvalidArgument(where + ": missing array \"shape\"");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return InvalidArgument(where + ": \"data_offsets\" must be [begin, end]");
  }
  bool known = false;
  const std::string dtype_name = dtype_it->get<std::string>();
  const std::optional<DType> dtype = ParseDType(dtype_name, &known);
  if (!dtype) {
    return known ? Unimplemented(where + ": unsupported dtype " + dtype_name + " (F32, F16 and BF16 can be loaded)")
                 : InvalidArgument(where + ": unknown dtype \"" + utf8::Sanitize(dtype_name) + "\"");
  }
  t->name = name;
  t->dtype = *dtype;
  if (shape_it->size() > kMaxDims) return InvalidArgument(where + ": more than 8 dimensions");
  t->n_elements = 1;
  for (const json& d : *shape_it) {
    DV_ASSIGN_OR_RETURN(const uint64_t dim, GetUnsigned(d, where + ": shape entry"));
    t->shape.push_back(dim);
    if (__builtin_mul_overflow(t->n_elements, dim, &t->n_elements)) return InvalidArgument(where + ": shape overflows");
  }
  DV_ASSIGN_OR_RETURN(const uint64_t begin, GetUnsigned((*offsets_it)[0], where + ": data_offsets[0]"));
  DV_ASSIGN_OR_RETURN(const uint64_t end, GetUnsigned((*offsets_it)[1], where + ": data_offsets[1]"));
  if (begin > end || end > buffer_size) {
    return InvalidArgument(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") outside the " + std::to_string(buffer_size) + "-byte data buffer");
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(t->n_elements, uint64_t{DTypeSize(*dtype)}, &bytes) || bytes != end - begin) {
    return InvalidArgument(where + ": " + std::to_string(end - begin) + " bytes for " + std::to_string(t->n_elements) +
                           " " + dtype_name + " elements");
  }
  t->bytes = std::span<const uint8_t>(buffer + begin, static_cast<size_t>(bytes));
  return Status();
}

}  // namespace

struct SafetensorsFile::State {
  std::unique_ptr<gguf::MappedFile> mapping;
  std::string path;
  std::vector<TensorView> tensors;
  std::unordered_map<std::string_view, size_t> index;  // name -> position in tensors
  std::map<std::string, std::string> metadata;

  Status Parse(std::span<const uint8_t> file) {
    if (file.size() < 8) return InvalidArgument("not a safetensors file: shorter than 8 bytes");
    uint64_t header_len;
    std::memcpy(&header_len, file.data(), 8);
    if (header_len > kMaxHeaderBytes) {
      return InvalidArgument("safetensors header length " + std::to_string(header_len) + " exceeds 100 MiB");
    }
    if (header_len > file.size() - 8) {
      return InvalidArgument("truncated file: header of " + std::to_string(header_len) + " bytes, " +
                             std::to_string(file.size() - 8) + " bytes follow");
    }
    const std::string_view header(reinterpret_cast<const char*>(file.data() + 8), static_cast<size_t>(header_len));
    const json doc = json::parse(header, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return InvalidArgument("safetensors header is not valid JSON");
    if (!doc.is_object()) return InvalidArgument("safetensors header is not a JSON object");
    const uint8_t* buffer = file.data() + 8 + header_len;
    const uint64_t buffer_size = file.size() - 8 - header_len;
    tensors.reserve(doc.size());
    for (const auto& [name, entry] : doc.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object()) return InvalidArgument("__metadata__ is not an object");
        for (const auto& [k, v] : entry.items()) {
          if (!v.is_string()) return InvalidArgument("__metadata__ value of \"" + k + "\" is not a string");
          metadata.emplace(k, v.get<std::string>());
        }
        continue;
      }
      TensorView t;
      DV_RETURN_IF_ERROR(ParseTensor(name, entry, buffer_size, buffer, &t));
      tensors.push_back(std::move(t));
    }
    std::sort(tensors.begin(), tensors.end(),
              [](const TensorView& a, const TensorView& b) { return a.bytes.data() < b.bytes.data(); });
    for (size_t i = 1; i < tensors.size(); ++i) {
      const TensorView& prev = tensors[i - 1];
      if (prev.bytes.data() + prev.bytes.size() > tensors[i].bytes.data()) {
        return InvalidArgument("tensor " + tensors[i].name + " overlaps tensor " + prev.name);
      }
    }
    index.reserve(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) index.emplace(tensors[i].name, i);
    return Status();
  }
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<State> state) : state_(std::move(state)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

Result<SafetensorsFile> SafetensorsFile::Open(const std::filesystem::path& path) {
  auto state = std::make_unique<State>();
  state->path = path.string();
  auto mapping = gguf::MappedFile::Open(path);
  if (!mapping.ok()) return std::move(mapping).error().AddContext(state->path);
  state->mapping = std::move(mapping).value();
  if (Status s = state->Parse(state->mapping->bytes()); !s.ok()) return std::move(s).AddContext(state->path);
  return SafetensorsFile(std::move(state));
}

Result<SafetensorsFile> SafetensorsFile::OpenBuffer(std::span<const uint8_t> bytes, std::string name) {
  auto state = std::make_unique<State>();
  state->path = std::move(name);
  if (Status s = state->Parse(bytes); !s.ok()) return std::move(s).AddContext(state->path);
  return SafetensorsFile(std::move(state));
}

const std::string& SafetensorsFile::path() const { return state_->path; }
const std::vector<TensorView>& SafetensorsFile::tensors() const { return state_->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return state_->metadata; }

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  const auto it = state_->index.find(name);
  return it == state_->index.end() ? nullptr : &state_->tensors[it->second];
}

}  // namespace dv::safetensors
