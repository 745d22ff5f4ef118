#include "engine/cpu/cpu_features.h"

#include <cstdlib>
#include <string_view>

namespace dv::cpu {

std::string CpuFeatures::ToString() const {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(avx512, "avx512");
  add(avx512_vnni, "avx512_vnni");
  add(avx512_bf16, "avx512_bf16");
  return s.empty() ? "plain" : s;
}

namespace {

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  // The VNNI kernel set also uses BMI2 (PDEP in the panel kernels); every VNNI CPU has it.
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("bmi2");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
  if (const char* cap = std::getenv("DEEPVAULT_CPU")) {
    const std::string_view level(cap);
    if (level == "plain") f = CpuFeatures{};
    if (level == "avx2") f.avx512 = f.avx512_vnni = f.avx512_bf16 = false;
  }
  return f;
}

}  // namespace

const CpuFeatures& Features() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace dv::cpu
