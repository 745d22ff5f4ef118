#include "engine/model/arch.h"

namespace dv::model {
namespace {
const ArchDescriptor* const kAll[] = {&LlamaArch(), &Qwen2Arch(), &Qwen3Arch()};
}

const ArchDescriptor* FindArchByGgufName(std::string_view name) {
  for (const ArchDescriptor* a : kAll) {
    if (a->gguf_name == name) return a;
  }
  return nullptr;
}

const ArchDescriptor* FindArchByHfClass(std::string_view hf_class) {
  for (const ArchDescriptor* a : kAll) {
    if (a->hf_class == hf_class) return a;
  }
  return nullptr;
}

std::string_view SupportedArchList() { return "llama, qwen2, qwen3"; }

}  // namespace dv::model
