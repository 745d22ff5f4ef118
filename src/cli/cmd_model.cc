// deepvault model info FILE [--json] [--template]
// deepvault model quantize IN.gguf OUT.gguf TYPE [--threads N]
// deepvault model convert HF_DIR -o OUT.gguf [--type T] [--tokenizer-pre NAME] [--name NAME] [--threads N]
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "engine/convert/hf_to_gguf.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/model_quantizer.h"
#include "engine/gguf/model_summary.h"

namespace dv::cli {
namespace {

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

std::string HumanCount(uint64_t n) {
  char buf[32];
  if (n >= 1000000000) {
    std::snprintf(buf, sizeof buf, "%.2f B", static_cast<double>(n) / 1e9);
  } else if (n >= 1000000) {
    std::snprintf(buf, sizeof buf, "%.2f M", static_cast<double>(n) / 1e6);
  } else if (n >= 1000) {
    std::snprintf(buf, sizeof buf, "%.2f K", static_cast<double>(n) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64, n);
  }
  return buf;
}

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json ToJson(const gguf::ModelSummary& s) {
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [type, st] : s.types) {
    types[quant::TypeName(type)] = {{"tensors", st.tensors}, {"elements", st.elements}, {"bytes", st.bytes}};
  }
  return {
      {"path", s.path},
      {"file_size", s.file_size},
      {"gguf_version", s.gguf_version},
      {"shards", s.shards},
      {"architecture", s.architecture},
      {"name", s.name},
      {"file_type", OrNull(s.file_type)},
      {"parameters", s.parameters},
      {"tensor_bytes", s.tensor_bytes},
      {"bits_per_weight", s.bits_per_weight()},
      {"context_length", OrNull(s.context_length)},
      {"embedding_length", OrNull(s.embedding_length)},
      {"block_count", OrNull(s.block_count)},
      {"feed_forward_length", OrNull(s.feed_forward_length)},
      {"head_count", OrNull(s.head_count)},
      {"head_count_kv", OrNull(s.head_count_kv)},
      {"expert_count", OrNull(s.expert_count)},
      {"expert_used_count", OrNull(s.expert_used_count)},
      {"rope_freq_base", OrNull(s.rope_freq_base)},
      {"rms_norm_eps", OrNull(s.rms_norm_eps)},
      {"tensor_types", types},
      {"tokenizer",
       {{"model", s.tokenizer_model},
        {"pre", s.tokenizer_pre},
        {"vocab_size", s.vocab_size},
        {"bos_token_id", OrNull(s.bos_token_id)},
        {"eos_token_id", OrNull(s.eos_token_id)}}},
      {"has_chat_template", s.chat_template.has_value()},
  };
}

void PrintRow(const char* label, const std::string& value) { std::printf("%-16s %s\n", label, value.c_str()); }

template <typename T>
void PrintOptional(const char* label, const std::optional<T>& v) {
  if (v) PrintRow(label, std::to_string(*v));
}

void PrintText(const gguf::ModelSummary& s) {
  PrintRow("file", s.path + " (" + HumanBytes(s.file_size) + ", GGUF v" + std::to_string(s.gguf_version) + ", " +
                       std::to_string(s.shards) + (s.shards == 1 ? " file)" : " files)"));
  PrintRow("architecture", s.architecture.empty() ? "(none)" : s.architecture);
  if (!s.name.empty()) PrintRow("name", s.name);
  PrintRow("parameters", HumanCount(s.parameters) + " (" + std::to_string(s.parameters) + ")");
  char bpw[64];
  std::snprintf(bpw, sizeof bpw, "%.2f bits per weight", s.bits_per_weight());
  PrintRow("file type", s.file_type.value_or("unknown") + " (" + bpw + ")");
  PrintOptional("context length", s.context_length);
  PrintOptional("layers", s.block_count);
  PrintOptional("embedding", s.embedding_length);
  PrintOptional("feed-forward", s.feed_forward_length);
  if (s.head_count) {
    PrintRow("heads", std::to_string(*s.head_count) +
                          (s.head_count_kv ? " (KV heads " + std::to_string(*s.head_count_kv) + ")" : ""));
  }
  if (s.expert_count) {
    PrintRow("experts", std::to_string(*s.expert_count) +
                            (s.expert_used_count ? " (" + std::to_string(*s.expert_used_count) + " used)" : ""));
  }
  if (s.rope_freq_base) {
    char buf[32];
    const double base = *s.rope_freq_base;
    std::snprintf(buf, sizeof buf, base == std::floor(base) && base < 1e15 ? "%.0f" : "%g", base);
    PrintRow("rope base", buf);
  }
  if (!s.tokenizer_model.empty() || s.vocab_size > 0) {
    std::string tok = s.tokenizer_model.empty() ? "(unknown)" : s.tokenizer_model;
    if (!s.tokenizer_pre.empty()) tok += " (pre " + s.tokenizer_pre + ")";
    tok += ", " + std::to_string(s.vocab_size) + " tokens";
    if (s.bos_token_id) tok += ", BOS " + std::to_string(*s.bos_token_id);
    if (s.eos_token_id) tok += ", EOS " + std::to_string(*s.eos_token_id);
    PrintRow("tokenizer", tok);
  }
  PrintRow("chat template", s.chat_template ? "yes (" + std::to_string(s.chat_template->size()) +
                                                  " bytes; print it with --template)"
                                            : "no");
  bool first = true;
  for (const auto& [type, st] : s.types) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%-5s %5" PRIu64 " tensors %12s elements %12s", quant::TypeName(type).c_str(),
                  st.tensors, HumanCount(st.elements).c_str(), HumanBytes(st.bytes).c_str());
    PrintRow(first ? "tensor types" : "", buf);
    first = false;
  }
}

}  // namespace

void RegisterModel(CLI::App& app, CliContext& ctx) {
  auto* model = app.add_subcommand("model", "Inspect and convert model files");
  model->require_subcommand(1);

  auto* info = model->add_subcommand("info", "Describe a GGUF model: architecture, size, quantization, tokenizer");
  struct InfoOptions {
    std::string file;
    bool json = false;
    bool print_template = false;
  };
  auto opts = std::make_shared<InfoOptions>();
  info->add_option("FILE", opts->file, "GGUF file (the first shard of a split model)")->required();
  info->add_flag("--json", opts->json, "Print a JSON object");
  info->add_flag("--template", opts->print_template, "Print the chat template and nothing else");
  info->callback([&ctx, opts] {
    auto file = gguf::GgufFile::Open(opts->file);
    if (!file.ok()) {
      ctx.exit_code = ReportError(file.status());
      return;
    }
    const gguf::ModelSummary summary = gguf::Summarize(*file);
    if (opts->print_template) {
      if (!summary.chat_template) {
        ctx.exit_code = ReportError(NotFound(opts->file + ": no chat template (tokenizer.chat_template) in the file"));
        return;
      }
      std::fputs(summary.chat_template->c_str(), stdout);
      if (summary.chat_template->empty() || summary.chat_template->back() != '\n') std::fputc('\n', stdout);
    } else if (opts->json) {
      std::puts(ToJson(summary).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      PrintText(summary);
    }
    ctx.exit_code = 0;
  });

  auto* quantize = model->add_subcommand(
      "quantize", "Re-quantize a GGUF model (f16, bf16, q8_0, q6_k, q4_0, q4_k_m, q5_k_m; see docs/MODELS.md)");
  struct QuantizeOptions {
    std::string input, output, type;
    int threads = 0;
  };
  auto qopts = std::make_shared<QuantizeOptions>();
  quantize->add_option("IN", qopts->input, "Input GGUF file (the first shard of a split model)")->required();
  quantize->add_option("OUT", qopts->output, "Output GGUF file (one file)")->required();
  quantize->add_option("TYPE", qopts->type, "q8_0, q6_k, q5_k_m, q4_k_m, q4_0, f16 or bf16")->required();
  quantize->add_option("--threads", qopts->threads, "Worker threads (default: one per core)");
  quantize->callback([&ctx, qopts] {
    auto recipe = gguf::ParseQuantRecipe(qopts->type);
    if (!recipe.ok()) {
      ctx.exit_code = ReportError(recipe.status());
      return;
    }
    if (qopts->threads < 0 || qopts->threads > 1024) {
      ctx.exit_code = ReportError(InvalidArgument("--threads must be between 1 and 1024"));
      return;
    }
    auto input = gguf::GgufFile::Open(qopts->input);
    if (!input.ok()) {
      ctx.exit_code = ReportError(input.status());
      return;
    }
    ThreadPool pool(static_cast<size_t>(qopts->threads));
    auto report = gguf::QuantizeModel(*input, qopts->output, *recipe, pool);
    if (!report.ok()) {
      ctx.exit_code = ReportError(std::move(report).error().AddContext("quantizing " + qopts->input));
      return;
    }
    std::string types;
    for (const auto& [type, count] : report->tensors_per_type) {
      types += (types.empty() ? "" : ", ") + std::to_string(count) + " " + quant::TypeName(type);
    }
    std::printf("wrote %s: %s (%s of tensor data, from %s)\n", qopts->output.c_str(), types.c_str(),
                HumanBytes(report->output_bytes).c_str(), HumanBytes(report->input_bytes).c_str());
    ctx.exit_code = 0;
  });

  auto* convert = model->add_subcommand(
      "convert", "Convert a Hugging Face checkpoint folder (Llama, Qwen2, Qwen3) to GGUF (see docs/MODELS.md)");
  struct ConvertCliOptions {
    std::string input, output, type = "f16", tokenizer_pre, name;
    int threads = 0;
  };
  auto copts = std::make_shared<ConvertCliOptions>();
  convert->add_option("HF_DIR", copts->input, "Folder with config.json, tokenizer.json and *.safetensors")
      ->required();
  convert->add_option("-o,--output", copts->output, "Output GGUF file")->required();
  convert->add_option("--type", copts->type, "f32, f16 (default), bf16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k");
  convert->add_option("--tokenizer-pre", copts->tokenizer_pre,
                      "tokenizer.ggml.pre to write when the pre-tokenizer is not recognised (e.g. qwen2)");
  convert->add_option("--name", copts->name, "general.name (default: the folder's name)");
  convert->add_option("--threads", copts->threads, "Worker threads (default: one per core)");
  convert->callback([&ctx, copts] {
    auto type = convert::ParseOutputType(copts->type);
    if (!type.ok()) {
      ctx.exit_code = ReportError(type.status());
      return;
    }
    if (copts->threads < 0 || copts->threads > 1024) {
      ctx.exit_code = ReportError(InvalidArgument("--threads must be between 1 and 1024"));
      return;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(copts->input, ec)) {
      ctx.exit_code = ReportError(NotFound(copts->input + " is not a folder (expected an HF checkpoint folder)"));
      return;
    }
    convert::ConvertOptions options;
    options.type = *type;
    options.tokenizer_pre = copts->tokenizer_pre;
    options.name = copts->name;
    ThreadPool pool(static_cast<size_t>(copts->threads));
    auto report = convert::ConvertHfToGguf(copts->input, copts->output, options, pool);
    if (!report.ok()) {
      ctx.exit_code = ReportError(std::move(report).error().AddContext("converting " + copts->input));
      return;
    }
    std::string types;
    for (const auto& [t, count] : report->tensors_per_type) {
      types += (types.empty() ? "" : ", ") + std::to_string(count) + " " + quant::TypeName(t);
    }
    std::printf("wrote %s: %s, %s parameters, %s tensors (%s), %s\n", copts->output.c_str(),
                report->architecture.c_str(), HumanCount(report->n_parameters).c_str(), std::string(type->name()).c_str(),
                types.c_str(), HumanBytes(report->output_bytes).c_str());
    std::printf("tokenizer.ggml.pre = %s (%s)\n", report->tokenizer_pre.c_str(), report->tokenizer_pre_reason.c_str());
    ctx.exit_code = 0;
  });
}

}  // namespace dv::cli
