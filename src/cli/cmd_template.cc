// deepvault template -m FILE --messages msgs.json [--generation-prompt] [--tools tools.json]
//                    [--kwargs kw.json] [--name NAME] [--bench N]
//
// Prints the prompt a model's chat template makes of a conversation, exactly as HF transformers'
// apply_chat_template(tokenize=False) would. FILE is a tokenizer_config.json (or a directory
// holding one), a .gguf model, or a bare Jinja template (.jinja/.j2, no special tokens).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/gguf_template.h"
#include "engine/gguf/gguf.h"

namespace dv::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr size_t kMaxInputBytes = 64u << 20;

struct TemplateOptions {
  std::string model;
  std::string messages;
  std::string tools;
  std::string kwargs;
  std::string name = "default";
  bool generation_prompt = false;
  int bench = 0;  // > 0: render this many times and report timings instead of printing
};

// Reads FILE ("-": standard input), refusing files over kMaxInputBytes.
Result<std::string> ReadInput(const std::string& path) {
  std::string data;
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    data = ss.str();
  } else {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) return NotFound("cannot read " + path + ": " + ec.message());
    if (size > kMaxInputBytes) return InvalidArgument(path + " is larger than 64 MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot open " + path);
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (data.size() > kMaxInputBytes) return InvalidArgument(path + " is larger than 64 MiB");
  return data;
}

Result<Json> ReadJson(const std::string& path) {
  DV_ASSIGN_OR_RETURN(std::string text, ReadInput(path));
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(path + " is not valid JSON: " + e.what());
  }
}

bool LooksLikeGguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

Result<chat::ChatTemplate> LoadTemplate(const TemplateOptions& o) {
  fs::path path = o.model;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path /= "tokenizer_config.json";
  if (!fs::exists(path, ec)) return NotFound(path.string() + " does not exist");
  if (LooksLikeGguf(path.string())) {
    DV_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::Open(path));
    return chat::ChatTemplateFromGguf(file, o.name);
  }
  DV_ASSIGN_OR_RETURN(std::string text, ReadInput(path.string()));
  const std::string ext = path.extension().string();
  if (ext == ".jinja" || ext == ".j2") return chat::ChatTemplate::Compile(text);
  return chat::ChatTemplate::FromTokenizerConfig(text, o.name);
}

// Renders once, or `o.bench` times reporting the median and fastest render time on stderr.
Result<std::string> RenderTemplate(const TemplateOptions& o) {
  DV_ASSIGN_OR_RETURN(chat::ChatTemplate tmpl, LoadTemplate(o).AddContext("loading " + o.model));
  chat::ChatTemplateInput input;
  input.add_generation_prompt = o.generation_prompt;
  DV_ASSIGN_OR_RETURN(Json messages, ReadJson(o.messages));
  // Either a bare array of messages or an OpenAI-style request {"messages": [...], "tools": [...]}.
  if (messages.is_object()) {
    if (!messages.contains("messages")) return InvalidArgument(o.messages + ": object without \"messages\"");
    if (messages.contains("tools")) input.tools = messages["tools"];
    input.messages = messages["messages"];
  } else {
    input.messages = std::move(messages);
  }
  if (!o.tools.empty()) {
    DV_ASSIGN_OR_RETURN(input.tools, ReadJson(o.tools));
  }
  if (!o.kwargs.empty()) {
    DV_ASSIGN_OR_RETURN(input.kwargs, ReadJson(o.kwargs));
  }
  if (o.bench <= 0) return tmpl.Render(input);
  std::vector<double> micros;
  std::string out;
  for (int i = 0; i < o.bench; ++i) {
    const auto start = std::chrono::steady_clock::now();
    DV_ASSIGN_OR_RETURN(out, tmpl.Render(input));
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  std::fprintf(stderr, "template render: %d runs, median %.1f us, min %.1f us, %zu messages, %zu prompt bytes\n",
               o.bench, micros[micros.size() / 2], micros.front(), input.messages.size(), out.size());
  return std::string();
}

}  // namespace

void RegisterTemplate(CLI::App& app, CliContext& ctx) {
  auto opts = std::make_shared<TemplateOptions>();
  auto* cmd = app.add_subcommand("template", "Render a model's chat template for a conversation (as HF apply_chat_template)");
  cmd->add_option("-m,--model", opts->model, "tokenizer_config.json (or its directory), .gguf, or .jinja template")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--messages", opts->messages, "JSON array of messages, or {\"messages\", \"tools\"} ('-': stdin)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--tools", opts->tools, "JSON array of tool schemas")->type_name("FILE");
  cmd->add_option("--kwargs", opts->kwargs, "JSON object of extra template variables, e.g. {\"enable_thinking\": false}")
      ->type_name("FILE");
  cmd->add_option("--name", opts->name, "Named template to use (default: \"default\")");
  cmd->add_flag("--generation-prompt", opts->generation_prompt, "Append the assistant turn header (add_generation_prompt)");
  cmd->add_option("--bench", opts->bench, "Render N times and print timings to stderr instead of the prompt")
      ->check(CLI::Range(1, 1000000));
  cmd->callback([&ctx, opts] {
    auto out = RenderTemplate(*opts);
    if (!out.ok()) {
      ctx.exit_code = ReportError(out.status());
      return;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
    std::fflush(stdout);
    ctx.exit_code = 0;
  });
}

}  // namespace dv::cli
