// The `deepvault` executable: parses the command line, dispatches to a command group.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "common/logging.h"

namespace dv::cli {

int ReportError(const Status& status) {
  std::fprintf(stderr, "deepvault: %s\n", status.Describe().c_str());
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

Result<Config> CliContext::LoadConfig(const std::optional<std::string>& file_override) const {
  ConfigSources sources;
  const std::string file = file_override.value_or(globals.config_file);
  if (!file.empty()) sources.file = file;
  sources.env = ProcessEnvironment();
  for (const auto& raw : globals.set_args) {
    const size_t eq = raw.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--set expects KEY=VALUE, got \"" + raw + "\"");
    }
    sources.flags.emplace_back(raw.substr(0, eq), raw.substr(eq + 1));
  }
  if (!globals.data_dir.empty()) sources.flags.emplace_back("data_dir", globals.data_dir);
  if (!globals.log_level.empty()) sources.flags.emplace_back("log.level", globals.log_level);
  if (!globals.log_format.empty()) sources.flags.emplace_back("log.format", globals.log_format);
  if (!globals.log_file.empty()) sources.flags.emplace_back("log.file", globals.log_file);
  return Config::Load(DefaultConfigSchema(), sources);
}

std::optional<Config> CliContext::LoadConfigAndLogging() {
  auto cfg = LoadConfig();
  if (!cfg.ok()) {
    exit_code = ReportError(cfg.status());
    return std::nullopt;
  }
  logging::Options log;
  log.level = cfg->GetString("log.level");
  log.format = cfg->GetString("log.format") == "json" ? logging::Format::kJson : logging::Format::kText;
  log.file = cfg->GetString("log.file");
  if (Status s = logging::Init(log); !s.ok()) {
    exit_code = ReportError(s);
    return std::nullopt;
  }
  return std::move(cfg).value();
}

namespace {

void AddGlobalOptions(CLI::App& app, GlobalOptions& g) {
  app.add_option("--config", g.config_file, "TOML configuration file")->type_name("FILE");
  app.add_option("--set", g.set_args, "Override a config key (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--data-dir", g.data_dir, "Data directory (config key data_dir)")->type_name("DIR");
  app.add_option("--log-level", g.log_level, "trace|debug|info|warn|error|critical|off");
  app.add_option("--log-format", g.log_format, "text|json");
  app.add_option("--log-file", g.log_file, "Append the log to FILE instead of standard error")->type_name("FILE");
}

int Run(int argc, char** argv) {
  CLI::App app{"deepvault: local DeepSeek inference, knowledge bases and governance in one program",
               "deepvault"};
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the subcommand name too
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  CliContext ctx;
  AddGlobalOptions(app, ctx.globals);
  RegisterVersion(app, ctx);
  RegisterConfig(app, ctx);
  RegisterModel(app, ctx);
  RegisterRun(app, ctx);
  RegisterBench(app, ctx);
  RegisterTokenize(app, ctx);
  RegisterKb(app, ctx);
  RegisterTemplate(app, ctx);
  RegisterServe(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}

}  // namespace
}  // namespace dv::cli

int main(int argc, char** argv) {
  try {
    return dv::cli::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deepvault: internal error: %s\n", e.what());
    return 1;
  }
}
