// Access to llama.cpp's quantized oracle files for the quantization tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/quant/dequantize.h"
#include "test_util.h"

namespace dv::quant::testing {

inline constexpr const char* kOracleDir = "fixtures/llamacpp-oracle/";
// The llama-quantize output files next to the F16 source they were made from.
inline const std::vector<std::string>& OracleQuantizedFiles() {
  static const std::vector<std::string> kFiles = {"q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"};
  return kFiles;
}

inline std::filesystem::path OraclePath(const std::string& type) {
  return dv::testing::SharedPath(std::string(kOracleDir) + "tiny-qwen2-s1-" + type + ".gguf");
}

// All elements of a tensor as floats.
inline std::vector<float> Dequantized(const gguf::TensorInfo& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  const Status s = DequantizeRow(t.type, t.bytes(), out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

inline double Rms(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum / static_cast<double>(v.size()));
}

// RMS of (a - b) divided by the RMS of b.
inline double RelativeRmsError(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    err += d * d;
  }
  return std::sqrt(err / static_cast<double>(a.size())) / Rms(b);
}

}  // namespace dv::quant::testing
