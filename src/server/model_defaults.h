// Default sampling a model file recommends, read once when the server starts.
//
//   GGUF: `general.sampling.temp`, `general.sampling.top_p`, `general.sampling.top_k`,
//         `general.sampling.min_p` (llama.cpp's metadata keys); without them, a chat template
//         that opens a <think> block (DeepSeek-R1 style) gets DeepSeek's published recommendation
//         for R1 models: temperature 0.6, top_p 0.95.
//   HF folder: generation_config.json's temperature / top_p / top_k when do_sample is not false.
// Values outside the API's ranges are ignored (the file is untrusted input).
//
// Thread safety: free function; no shared state.
#pragma once

#include <filesystem>

#include "server/router.h"

namespace dv::server {

SamplingDefaults ReadSamplingDefaults(const std::filesystem::path& model_path);

// Fields of `config` (from a config entry) override those of `file`.
SamplingDefaults MergeSamplingDefaults(const SamplingDefaults& file, const SamplingDefaults& config);

}  // namespace dv::server
