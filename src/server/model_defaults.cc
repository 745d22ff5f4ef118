#include "server/model_defaults.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "engine/gguf/gguf.h"

namespace dv::server {
namespace {

std::optional<double> InRange(std::optional<double> v, double lo, double hi) {
  if (v && std::isfinite(*v) && *v >= lo && *v <= hi) return v;
  return std::nullopt;
}

std::optional<int> TopK(std::optional<double> v) {
  if (v && std::isfinite(*v) && *v >= 0 && *v <= 1'000'000 && *v == std::floor(*v)) return static_cast<int>(*v);
  return std::nullopt;
}

SamplingDefaults FromGguf(const std::filesystem::path& path) {
  SamplingDefaults d;
  gguf::OpenOptions options;
  options.follow_splits = false;
  auto file = gguf::GgufFile::Open(path, options);
  if (!file.ok()) return d;  // the load reports the problem with the file
  auto number = [&](std::string_view key) -> std::optional<double> {
    if (auto f = file->GetFloat(key); f.ok()) return *f;
    if (auto u = file->GetUnsigned(key); u.ok()) return static_cast<double>(*u);
    return std::nullopt;
  };
  d.temperature = InRange(number("general.sampling.temp"), 0, 2);
  d.top_p = InRange(number("general.sampling.top_p"), 1e-9, 1);
  d.min_p = InRange(number("general.sampling.min_p"), 0, 1);
  d.top_k = TopK(number("general.sampling.top_k"));
  if (d.empty()) {
    auto tmpl = file->GetString("tokenizer.chat_template");
    if (tmpl.ok() && tmpl->find("<think>") != std::string_view::npos) {
      d.temperature = 0.6;
      d.top_p = 0.95;
    }
  }
  return d;
}

SamplingDefaults FromHfFolder(const std::filesystem::path& dir) {
  SamplingDefaults d;
  std::ifstream in(dir / "generation_config.json");
  if (!in) return d;
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return d;
  if (auto it = j.find("do_sample"); it != j.end() && it->is_boolean() && !it->get<bool>()) return d;
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  d.temperature = InRange(number("temperature"), 0, 2);
  d.top_p = InRange(number("top_p"), 1e-9, 1);
  d.top_k = TopK(number("top_k"));
  return d;
}

}  // namespace

SamplingDefaults ReadSamplingDefaults(const std::filesystem::path& model_path) {
  std::error_code ec;
  if (std::filesystem::is_directory(model_path, ec)) return FromHfFolder(model_path);
  return FromGguf(model_path);
}

SamplingDefaults MergeSamplingDefaults(const SamplingDefaults& file, const SamplingDefaults& config) {
  SamplingDefaults d = file;
  if (config.temperature) d.temperature = config.temperature;
  if (config.top_p) d.top_p = config.top_p;
  if (config.top_k) d.top_k = config.top_k;
  if (config.min_p) d.min_p = config.min_p;
  return d;
}

}  // namespace dv::server
