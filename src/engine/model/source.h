// Where a model's configuration and tensors come from: a GGUF file or a Hugging Face checkpoint
// folder (config.json + *.safetensors). Both are presented the same way — GGUF tensor names
// ("blk.3.attn_q.weight") and GGUF shapes (ne[0] = row length) — so one graph serves both.
//
// Ownership: a ModelSource owns its file mappings; TensorRef::data stays valid while it lives.
// Thread safety: const methods may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "deepvault/status.h"
#include "engine/gguf/mapped_file.h"
#include "engine/model/arch.h"
#include "engine/model/config.h"
#include "engine/quant/tensor_type.h"

namespace dv::gguf {
class GgufFile;
}

namespace dv::model {

struct TensorRef {
  std::string name;  // GGUF name
  quant::TensorType type = quant::TensorType::kF32;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne = {1, 1, 1, 1};  // ne[0] = row length
  const uint8_t* data = nullptr;
  uint64_t n_bytes = 0;  // validated: equals the size of ne elements of type

  std::string ShapeString() const;
};

class ModelSource {
 public:
  virtual ~ModelSource() = default;
  // Validated configuration (ModelConfig::Validate passed).
  virtual const ModelConfig& config() const = 0;
  virtual const ArchDescriptor& arch() const = 0;
  // Tensor by GGUF name; nullptr when absent.
  virtual const TensorRef* Find(std::string_view gguf_name) const = 0;
  // The GGUF file (for tokenizer metadata), or nullptr for HF folders.
  virtual const gguf::GgufFile* gguf() const = 0;
  // The path that was opened.
  virtual const std::filesystem::path& path() const = 0;
};

// A GGUF file (`path` is a file) or an HF folder (`path` is a directory with config.json).
// `map_mode` says how a GGUF file's bytes are held (gguf/mapped_file.h); HF folders are mapped.
Result<std::unique_ptr<ModelSource>> OpenModelSource(const std::filesystem::path& path,
                                                     gguf::MapMode map_mode = gguf::MapMode::kMap);
Result<std::unique_ptr<ModelSource>> OpenGgufSource(const std::filesystem::path& path,
                                                    gguf::MapMode map_mode = gguf::MapMode::kMap);
Result<std::unique_ptr<ModelSource>> OpenHfSource(const std::filesystem::path& dir);

}  // namespace dv::model
