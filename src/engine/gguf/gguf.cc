#include "engine/gguf/gguf.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <regex>
#include <string>

#include "common/utf8.h"
#include "engine/gguf/mapped_file.h"

namespace dv::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;        // key length, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name length, 1-byte name, n_dims, ne, type, offset

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Bounds-checked little-endian cursor over the header. Every read fails with a message naming what
// was being read and where, instead of reading past the end.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  Status Need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      return InvalidArgument("truncated file: " + std::string(what) + " at offset " + std::to_string(pos_) +
                             " needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) + " left");
    }
    return Status();
  }

  template <typename T>
  Result<T> Read(std::string_view what) {
    DV_RETURN_IF_ERROR(Need(sizeof(T), what));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }

  // A u64-length-prefixed string of at most `max_bytes`.
  Result<std::string_view> ReadString(std::string_view what, uint64_t max_bytes) {
    DV_ASSIGN_OR_RETURN(const uint64_t len, Read<uint64_t>(what));
    if (len > max_bytes) {
      return InvalidArgument(std::string(what) + " at offset " + std::to_string(pos_ - 8) + " has length " +
                             std::to_string(len) + ", more than the limit " + std::to_string(max_bytes));
    }
    DV_RETURN_IF_ERROR(Need(len, what));
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  // Validates one value of `type` (recursing into arrays) and returns its encoded bytes.
  Result<std::span<const uint8_t>> SkipValue(ValueType type, uint32_t depth, std::string_view key) {
    const uint64_t start = pos_;
    if (const size_t size = ScalarSize(type); size != 0) {
      DV_RETURN_IF_ERROR(Need(size, "value of " + Quote(key)));
      pos_ += size;
    } else if (type == ValueType::kString) {
      DV_RETURN_IF_ERROR(ReadString("string value of " + Quote(key), kMaxStringBytes).status());
    } else {  // kArray
      if (depth >= kMaxArrayDepth) {
        return InvalidArgument("metadata " + Quote(key) + ": arrays nested deeper than " +
                               std::to_string(kMaxArrayDepth));
      }
      DV_ASSIGN_OR_RETURN(const uint32_t elem_raw, Read<uint32_t>("array type of " + Quote(key)));
      DV_ASSIGN_OR_RETURN(const ValueType elem, CheckType(elem_raw, key));
      DV_ASSIGN_OR_RETURN(const uint64_t count, Read<uint64_t>("array length of " + Quote(key)));
      const uint64_t min_elem = ScalarSize(elem) != 0 ? ScalarSize(elem) : (elem == ValueType::kString ? 8 : 12);
      if (count > remaining() / min_elem) {
        return InvalidArgument("metadata " + Quote(key) + ": array of " + std::to_string(count) + " " +
                               std::string(ValueTypeName(elem)) + " elements does not fit in the " +
                               std::to_string(remaining()) + " bytes left");
      }
      if (ScalarSize(elem) != 0) {
        if (elem == ValueType::kBool) DV_RETURN_IF_ERROR(CheckBools(count, key));
        pos_ += count * min_elem;
      } else {
        for (uint64_t i = 0; i < count; ++i) DV_RETURN_IF_ERROR(SkipValue(elem, depth + 1, key).status());
      }
    }
    if (type == ValueType::kBool && bytes_[start] > 1) {
      return InvalidArgument("metadata " + Quote(key) + ": bool value " + std::to_string(bytes_[start]));
    }
    return bytes_.subspan(start, pos_ - start);
  }

  static Result<ValueType> CheckType(uint32_t raw, std::string_view key) {
    if (raw > static_cast<uint32_t>(ValueType::kFloat64)) {
      return InvalidArgument("metadata " + Quote(key) + ": unknown value type " + std::to_string(raw));
    }
    return static_cast<ValueType>(raw);
  }

 private:
  Status CheckBools(uint64_t count, std::string_view key) const {
    for (uint64_t i = 0; i < count; ++i) {
      if (bytes_[pos_ + i] > 1) {
        return InvalidArgument("metadata " + Quote(key) + ": bool array element " + std::to_string(i) + " is " +
                               std::to_string(bytes_[pos_ + i]));
      }
    }
    return Status();
  }

  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

// One parsed file of a (possibly split) model.
struct Shard {
  std::unique_ptr<MappedFile> mapping;  // null for OpenBuffer
  std::span<const uint8_t> bytes;
  std::string path;
  uint32_t version = 0;
  uint32_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;
  std::vector<KeyValue> metadata;
  std::vector<TensorInfo> tensors;
};

const Value* FindIn(const std::vector<KeyValue>& kvs, std::string_view key) {
  for (const KeyValue& kv : kvs) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

Status ParseTensorInfo(Cursor& cur, uint32_t shard_index, TensorInfo* t) {
  DV_ASSIGN_OR_RETURN(t->name, cur.ReadString("tensor name", kMaxTensorNameBytes));
  if (t->name.empty()) return InvalidArgument("tensor with an empty name at offset " + std::to_string(cur.pos()));
  if (!utf8::IsValid(t->name)) return InvalidArgument("tensor name is not valid UTF-8");
  const std::string where = "tensor " + std::string(t->name);
  DV_ASSIGN_OR_RETURN(t->n_dims, cur.Read<uint32_t>("dimension count of " + where));
  if (t->n_dims == 0 || t->n_dims > kMaxDims) {
    return InvalidArgument(where + ": " + std::to_string(t->n_dims) + " dimensions (1 to 4 allowed)");
  }
  t->n_elements = 1;
  for (uint32_t d = 0; d < t->n_dims; ++d) {
    DV_ASSIGN_OR_RETURN(t->ne[d], cur.Read<uint64_t>("dimensions of " + where));
    if (t->ne[d] == 0 || t->ne[d] > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(where + ": dimension " + std::to_string(d) + " is " + std::to_string(t->ne[d]));
    }
    if (__builtin_mul_overflow(t->n_elements, t->ne[d], &t->n_elements) ||
        t->n_elements > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(where + ": element count overflows");
    }
  }
  DV_ASSIGN_OR_RETURN(const uint32_t type_id, cur.Read<uint32_t>("type of " + where));
  const std::optional<quant::TypeTraits> traits = quant::TraitsForId(type_id);
  if (!traits) return InvalidArgument("unknown type id " + std::to_string(type_id) + " in " + where);
  t->type = traits->type;
  if (!traits->supported) {
    return Unimplemented("unsupported type " + quant::TypeName(t->type) + " in " + where);
  }
  if (t->ne[0] % traits->block_size != 0) {
    return InvalidArgument(where + ": row length " + std::to_string(t->ne[0]) + " is not a multiple of the " +
                           quant::TypeName(t->type) + " block size " + std::to_string(traits->block_size));
  }
  // n_elements <= INT64_MAX and block_bytes <= 292: the product cannot wrap once divided by the block size.
  if (__builtin_mul_overflow(t->n_elements / traits->block_size, uint64_t{traits->block_bytes}, &t->n_bytes)) {
    return InvalidArgument(where + ": byte size overflows");
  }
  DV_ASSIGN_OR_RETURN(t->offset, cur.Read<uint64_t>("data offset of " + where));
  t->shard = shard_index;
  return Status();
}

Status ParseMetadata(Cursor& cur, uint64_t n_kv, Shard* shard) {
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(static_cast<size_t>(n_kv));
  shard->metadata.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    DV_ASSIGN_OR_RETURN(const std::string_view key, cur.ReadString("metadata key", kMaxKeyBytes));
    if (key.empty()) return InvalidArgument("metadata key " + std::to_string(i) + " is empty");
    if (!utf8::IsValid(key)) return InvalidArgument("metadata key " + std::to_string(i) + " is not valid UTF-8");
    if (!seen.emplace(key, i).second) return InvalidArgument("duplicate metadata key " + Quote(key));
    DV_ASSIGN_OR_RETURN(const uint32_t type_raw, cur.Read<uint32_t>("value type of " + Quote(key)));
    DV_ASSIGN_OR_RETURN(const ValueType type, Cursor::CheckType(type_raw, key));
    DV_ASSIGN_OR_RETURN(const std::span<const uint8_t> encoded, cur.SkipValue(type, 0, key));
    shard->metadata.push_back({key, Value(type, encoded)});
  }
  return Status();
}

Status ParseAlignment(Shard* shard) {
  const Value* v = FindIn(shard->metadata, "general.alignment");
  if (v == nullptr) return Status();
  if (v->type() != ValueType::kUint32) {
    return InvalidArgument("general.alignment has type " + std::string(ValueTypeName(v->type())) + ", expected u32");
  }
  const uint32_t a = v->u32();
  if (a == 0 || (a & (a - 1)) != 0) {
    return InvalidArgument("general.alignment " + std::to_string(a) + " is not a power of two");
  }
  shard->alignment = a;
  return Status();
}

// Places every tensor inside the data section: aligned, in bounds, not overlapping.
Status PlaceTensors(Shard* shard) {
  const uint64_t file_size = shard->bytes.size();
  const uint64_t data_size = file_size - shard->data_offset;
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(shard->tensors.size());
  for (TensorInfo& t : shard->tensors) {
    const std::string where = "tensor " + std::string(t.name);
    if (t.offset % shard->alignment != 0) {
      return InvalidArgument(where + ": data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                             std::to_string(shard->alignment));
    }
    uint64_t end = 0;
    if (t.offset > data_size || __builtin_add_overflow(t.offset, t.n_bytes, &end) || end > data_size) {
      return InvalidArgument(where + ": data [" + std::to_string(t.offset) + ", +" + std::to_string(t.n_bytes) +
                             ") lies outside the " + std::to_string(data_size) + "-byte data section");
    }
    t.data = shard->bytes.data() + shard->data_offset + t.offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    if (prev.offset + prev.n_bytes > by_offset[i]->offset) {
      return InvalidArgument("tensor " + std::string(by_offset[i]->name) + " overlaps tensor " + std::string(prev.name));
    }
  }
  return Status();
}

Status ParseShard(uint32_t shard_index, Shard* shard) {
  Cursor cur(shard->bytes);
  DV_ASSIGN_OR_RETURN(const uint32_t magic, cur.Read<uint32_t>("magic"));
  if (magic != kMagic) return InvalidArgument("not a GGUF file (bad magic)");
  DV_ASSIGN_OR_RETURN(shard->version, cur.Read<uint32_t>("version"));
  if (shard->version == 1) return Unimplemented("GGUF version 1 is not supported (convert it to version 3)");
  if (shard->version != 2 && shard->version != 3) {
    if ((shard->version & 0xFFFF) == 0) return Unimplemented("big-endian GGUF files are not supported");
    return Unimplemented("unsupported GGUF version " + std::to_string(shard->version));
  }
  DV_ASSIGN_OR_RETURN(const uint64_t n_tensors, cur.Read<uint64_t>("tensor count"));
  DV_ASSIGN_OR_RETURN(const uint64_t n_kv, cur.Read<uint64_t>("metadata count"));
  if (n_kv > cur.remaining() / kMinKeyValueBytes) {
    return InvalidArgument("metadata count " + std::to_string(n_kv) + " does not fit in the file");
  }
  if (n_tensors > cur.remaining() / kMinTensorInfoBytes) {
    return InvalidArgument("tensor count " + std::to_string(n_tensors) + " does not fit in the file");
  }
  DV_RETURN_IF_ERROR(ParseMetadata(cur, n_kv, shard));
  DV_RETURN_IF_ERROR(ParseAlignment(shard));
  shard->tensors.resize(static_cast<size_t>(n_tensors));
  for (TensorInfo& t : shard->tensors) DV_RETURN_IF_ERROR(ParseTensorInfo(cur, shard_index, &t));
  const uint64_t a = shard->alignment;
  const uint64_t padded = (cur.pos() + a - 1) / a * a;  // pos <= file size < 2^63: no overflow
  if (shard->tensors.empty()) {
    // Vocabulary-only files commonly end right after the header, without the padding.
    shard->data_offset = std::min<uint64_t>(padded, shard->bytes.size());
    return Status();
  }
  if (padded > shard->bytes.size()) {
    return InvalidArgument("truncated file: the data section would start at " + std::to_string(padded) +
                           ", past the end of the " + std::to_string(shard->bytes.size()) + "-byte file");
  }
  shard->data_offset = padded;
  return PlaceTensors(shard);
}

// split.count / split.no of a shard, or {1, 0} when it has no split keys.
Result<std::pair<uint32_t, uint32_t>> SplitInfo(const Shard& shard) {
  const Value* count = FindIn(shard.metadata, "split.count");
  const Value* no = FindIn(shard.metadata, "split.no");
  if (count == nullptr && no == nullptr) return std::pair<uint32_t, uint32_t>{1, 0};
  if (count == nullptr || no == nullptr) return InvalidArgument("split.count and split.no must appear together");
  const auto c = count->AsUint64();
  const auto n = no->AsUint64();
  if (!c.ok() || !n.ok()) return InvalidArgument("split.count and split.no must be non-negative integers");
  if (*c == 0 || *c > kMaxSplitCount) return InvalidArgument("split.count " + std::to_string(*c) + " out of range");
  if (*n >= *c) return InvalidArgument("split.no " + std::to_string(*n) + " >= split.count " + std::to_string(*c));
  return std::pair<uint32_t, uint32_t>{static_cast<uint32_t>(*c), static_cast<uint32_t>(*n)};
}

Result<Shard> OpenShard(const std::filesystem::path& path, uint32_t index, MapMode mode) {
  Shard shard;
  shard.path = path.string();
  DV_ASSIGN_OR_RETURN(shard.mapping, MappedFile::Open(path, mode));
  shard.bytes = shard.mapping->bytes();
  if (Status s = ParseShard(index, &shard); !s.ok()) return s;
  return shard;
}

}  // namespace

struct GgufFile::State {
  std::vector<Shard> shards;
  std::vector<TensorInfo> tensors;
  std::unordered_map<std::string_view, size_t> tensor_index;
  std::unordered_map<std::string_view, size_t> key_index;

  // Merges the shards' tensor tables and builds the indexes.
  Status Finish() {
    size_t total = 0;
    for (const Shard& s : shards) total += s.tensors.size();
    tensors.reserve(total);
    tensor_index.reserve(total);
    for (Shard& s : shards) {
      for (const TensorInfo& t : s.tensors) {
        if (!tensor_index.emplace(t.name, tensors.size()).second) {
          return InvalidArgument("duplicate tensor name " + std::string(t.name) +
                                 (shards.size() > 1 ? " (in " + s.path + ")" : ""));
        }
        tensors.push_back(t);
      }
      s.tensors.clear();
      s.tensors.shrink_to_fit();
    }
    const auto& kvs = shards.front().metadata;
    key_index.reserve(kvs.size());
    for (size_t i = 0; i < kvs.size(); ++i) key_index.emplace(kvs[i].key, i);
    return Status();
  }
};

GgufFile::GgufFile(std::unique_ptr<State> state) : state_(std::move(state)) {}
GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

Result<std::filesystem::path> SplitShardPath(const std::filesystem::path& first_shard, uint32_t index,
                                             uint32_t count) {
  static const std::regex kPattern(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
  const std::string name = first_shard.filename().string();
  std::smatch m;
  if (!std::regex_match(name, m, kPattern)) {
    return InvalidArgument("split model file name " + Quote(name) + " does not end in -NNNNN-of-NNNNN.gguf");
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%05u-of-%05u.gguf", index + 1, count);
  return first_shard.parent_path() / (m[1].str() + suffix);
}

Result<GgufFile> GgufFile::Open(const std::filesystem::path& path, const OpenOptions& options) {
  auto state = std::make_unique<State>();
  {
    auto first = OpenShard(path, 0, options.map_mode);
    if (!first.ok()) return std::move(first).error().AddContext(path.string());
    state->shards.push_back(std::move(first).value());
  }
  auto split = SplitInfo(state->shards[0]);
  if (!split.ok()) return std::move(split).error().AddContext(path.string());
  const auto [count, no] = *split;
  if (no != 0) {
    return InvalidArgument("this is shard " + std::to_string(no + 1) + " of " + std::to_string(count) +
                           " of a split model; open the first shard").AddContext(path.string());
  }
  if (count > 1 && options.follow_splits) {
    uint64_t expected_tensors = 0;
    if (const Value* v = FindIn(state->shards[0].metadata, "split.tensors.count")) {
      auto n = v->AsUint64();
      if (!n.ok()) return InvalidArgument("split.tensors.count is not an integer").AddContext(path.string());
      expected_tensors = *n;
    } else {
      return InvalidArgument("split model without split.tensors.count").AddContext(path.string());
    }
    for (uint32_t i = 1; i < count; ++i) {
      auto shard_path = SplitShardPath(path, i, count);
      if (!shard_path.ok()) return std::move(shard_path).error().AddContext(path.string());
      auto shard = OpenShard(*shard_path, i, options.map_mode);
      if (!shard.ok()) return std::move(shard).error().AddContext(shard_path->string());
      auto info = SplitInfo(*shard);
      if (!info.ok()) return std::move(info).error().AddContext(shard_path->string());
      if (info->first != count || info->second != i) {
        return InvalidArgument("expected shard " + std::to_string(i + 1) + " of " + std::to_string(count) +
                               ", found shard " + std::to_string(info->second + 1) + " of " +
                               std::to_string(info->first)).AddContext(shard_path->string());
      }
      state->shards.push_back(std::move(shard).value());
    }
    uint64_t total = 0;
    for (const Shard& s : state->shards) total += s.tensors.size();
    if (total != expected_tensors) {
      return InvalidArgument("split.tensors.count is " + std::to_string(expected_tensors) + " but the " +
                             std::to_string(count) + " shards hold " + std::to_string(total) + " tensors")
          .AddContext(path.string());
    }
  }
  if (Status s = state->Finish(); !s.ok()) return std::move(s).AddContext(path.string());
  return GgufFile(std::move(state));
}

Result<GgufFile> GgufFile::OpenBuffer(std::span<const uint8_t> bytes, std::string name) {
  auto state = std::make_unique<State>();
  Shard shard;
  shard.bytes = bytes;
  shard.path = std::move(name);
  if (Status s = ParseShard(0, &shard); !s.ok()) return std::move(s).AddContext(shard.path);
  if (auto split = SplitInfo(shard); !split.ok()) return std::move(split).error().AddContext(shard.path);
  state->shards.push_back(std::move(shard));
  if (Status s = state->Finish(); !s.ok()) return std::move(s).AddContext(state->shards[0].path);
  return GgufFile(std::move(state));
}

const std::string& GgufFile::path() const { return state_->shards[0].path; }
uint32_t GgufFile::version() const { return state_->shards[0].version; }
uint32_t GgufFile::alignment() const { return state_->shards[0].alignment; }
uint64_t GgufFile::data_offset() const { return state_->shards[0].data_offset; }
size_t GgufFile::shard_count() const { return state_->shards.size(); }
uint64_t GgufFile::file_size() const {
  uint64_t total = 0;
  for (const Shard& s : state_->shards) total += s.bytes.size();
  return total;
}
const std::vector<KeyValue>& GgufFile::metadata() const { return state_->shards[0].metadata; }
const std::vector<TensorInfo>& GgufFile::tensors() const { return state_->tensors; }

const Value* GgufFile::Find(std::string_view key) const {
  const auto it = state_->key_index.find(key);
  return it == state_->key_index.end() ? nullptr : &state_->shards[0].metadata[it->second].value;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  const auto it = state_->tensor_index.find(name);
  return it == state_->tensor_index.end() ? nullptr : &state_->tensors[it->second];
}

Result<const TensorInfo*> GgufFile::GetTensor(std::string_view name) const {
  const TensorInfo* t = FindTensor(name);
  if (t == nullptr) return NotFound("tensor " + std::string(name) + " not found in " + path());
  return t;
}

namespace {

Result<Value> Lookup(const GgufFile& f, std::string_view key, ValueType want) {
  const Value* v = f.Find(key);
  if (v == nullptr) return NotFound("metadata key " + Quote(key) + " is missing");
  if (v->type() != want) {
    return InvalidArgument("metadata key " + Quote(key) + " has type " + std::string(ValueTypeName(v->type())) +
                           ", expected " + std::string(ValueTypeName(want)));
  }
  return *v;
}

Result<Value> LookupArray(const GgufFile& f, std::string_view key, ValueType elem) {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(f, key, ValueType::kArray));
  if (v.array_type() != elem) {
    return InvalidArgument("metadata key " + Quote(key) + " is an array of " + std::string(ValueTypeName(v.array_type())) +
                           ", expected an array of " + std::string(ValueTypeName(elem)));
  }
  return v;
}

template <typename T>
Result<std::vector<T>> ScalarArray(const GgufFile& f, std::string_view key, ValueType elem) {
  DV_ASSIGN_OR_RETURN(const Value v, LookupArray(f, key, elem));
  std::vector<T> out(static_cast<size_t>(v.array_size()));
  if (!out.empty()) std::memcpy(out.data(), v.encoded().data() + 12, out.size() * sizeof(T));
  return out;
}

}  // namespace

Result<std::string_view> GgufFile::GetString(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(*this, key, ValueType::kString));
  return v.str();
}
Result<uint32_t> GgufFile::GetU32(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(*this, key, ValueType::kUint32));
  return v.u32();
}
Result<uint64_t> GgufFile::GetU64(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(*this, key, ValueType::kUint64));
  return v.u64();
}
Result<int32_t> GgufFile::GetI32(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(*this, key, ValueType::kInt32));
  return v.i32();
}
Result<float> GgufFile::GetF32(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(*this, key, ValueType::kFloat32));
  return v.f32();
}
Result<bool> GgufFile::GetBool(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, Lookup(*this, key, ValueType::kBool));
  return v.boolean();
}
Result<uint64_t> GgufFile::GetUnsigned(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return NotFound("metadata key " + Quote(key) + " is missing");
  auto r = v->AsUint64();
  if (!r.ok()) return InvalidArgument("metadata key " + Quote(key) + ": " + r.status().message());
  return r;
}
Result<double> GgufFile::GetFloat(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return NotFound("metadata key " + Quote(key) + " is missing");
  auto r = v->AsDouble();
  if (!r.ok()) return InvalidArgument("metadata key " + Quote(key) + ": " + r.status().message());
  return r;
}
Result<Value> GgufFile::GetArray(std::string_view key) const { return Lookup(*this, key, ValueType::kArray); }

Result<std::vector<std::string_view>> GgufFile::GetStringArray(std::string_view key) const {
  DV_ASSIGN_OR_RETURN(const Value v, LookupArray(*this, key, ValueType::kString));
  std::vector<std::string_view> out;
  out.reserve(static_cast<size_t>(v.array_size()));
  const uint8_t* p = v.encoded().data() + 12;
  for (uint64_t i = 0; i < v.array_size(); ++i) {
    uint64_t len;
    std::memcpy(&len, p, 8);
    out.emplace_back(reinterpret_cast<const char*>(p + 8), static_cast<size_t>(len));
    p += 8 + len;
  }
  return out;
}
Result<std::vector<float>> GgufFile::GetF32Array(std::string_view key) const {
  return ScalarArray<float>(*this, key, ValueType::kFloat32);
}
Result<std::vector<int32_t>> GgufFile::GetI32Array(std::string_view key) const {
  return ScalarArray<int32_t>(*this, key, ValueType::kInt32);
}
Result<std::vector<uint32_t>> GgufFile::GetU32Array(std::string_view key) const {
  return ScalarArray<uint32_t>(*this, key, ValueType::kUint32);
}

std::string TensorInfo::ShapeString() const {
  std::string out = "[";
  for (uint32_t d = 0; d < n_dims; ++d) {
    if (d > 0) out += ", ";
    out += std::to_string(ne[d]);
  }
  return out + "]";
}

}  // namespace dv::gguf
