// libFuzzer target: arbitrary bytes as a GGUF file. Every metadata value is read (strings, arrays
// and nested arrays walked, typed getters called), every tensor's bytes are touched and the
// supported types dequantized, and a summary is built; all of it must stay in bounds.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/gguf/model_summary.h"
#include "engine/gguf/writer.h"
#include "engine/quant/dequantize.h"

namespace {

uint64_t Touch(const dv::gguf::Value& v) {
  uint64_t sum = v.encoded().size() + static_cast<uint64_t>(v.type());
  switch (v.type()) {
    case dv::gguf::ValueType::kString:
      for (char c : v.str()) sum += static_cast<unsigned char>(c);
      break;
    case dv::gguf::ValueType::kArray:
      for (const dv::gguf::Value& e : v.ArrayElements()) sum += Touch(e);
      break;
    default:
      if (v.is_integer()) sum += static_cast<uint64_t>(v.AsInt64().ok());
      if (v.is_float()) sum += static_cast<uint64_t>(*v.AsDouble() != 0.0);
      break;
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = dv::gguf::GgufFile::OpenBuffer(std::span<const uint8_t>(data, size), "fuzz.gguf");
  if (!file.ok()) return 0;
  volatile uint64_t sink = 0;
  dv::gguf::GgufWriter copy(file->version());
  for (const dv::gguf::KeyValue& kv : file->metadata()) {
    sink = sink + Touch(kv.value) + kv.key.size();
    sink = sink + kv.value.ToString().size();
    (void)file->GetStringArray(kv.key).ok();
    (void)file->GetUnsigned(kv.key).ok();
    (void)file->GetString(kv.key).ok();
    copy.AddValue(kv.key, kv.value).IgnoreError();
  }
  std::vector<float> row;
  for (const dv::gguf::TensorInfo& t : file->tensors()) {
    copy.AddTensor(t.name, t.type, std::span(t.ne).first(t.n_dims), t.bytes()).IgnoreError();
    if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
    if (t.row_length() > (1u << 16)) continue;  // bound the work per input
    row.resize(static_cast<size_t>(t.row_length()));
    const uint64_t row_bytes = t.row_bytes();
    for (uint64_t r = 0; r < t.n_rows() && r < 4; ++r) {
      dv::quant::DequantizeRow(t.type, t.bytes().subspan(static_cast<size_t>(r * row_bytes), row_bytes), row)
          .IgnoreError();
    }
  }
  sink = sink + dv::gguf::Summarize(*file).parameters;
  // What the writer makes of a valid file must read back.
  if (file->tensors().size() < 64 && file->alignment() <= 4096) {
    auto bytes = copy.WriteToString();
    if (bytes.ok()) {
      auto again = dv::gguf::GgufFile::OpenBuffer(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()), "copy.gguf");
      if (!again.ok()) __builtin_trap();
    }
  }
  return 0;
}
