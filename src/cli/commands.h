// Command groups of the `deepvault` executable. Each Register* adds its subcommands to the app;
// the callbacks run after parsing and set the exit code through CliContext.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"

namespace dv::cli {

// Options shared by every subcommand (accepted before or after the subcommand name).
struct GlobalOptions {
  std::string config_file;                                 // --config
  std::vector<std::pair<std::string, std::string>> flags;  // --set k=v and dedicated flags
  std::vector<std::string> set_args;                       // raw --set values
  std::string data_dir, log_level, log_format, log_file;   // dedicated flags
};

struct CliContext {
  GlobalOptions globals;
  int exit_code = 0;

  // Loads the effective configuration from defaults, file, environment and flags.
  Result<Config> LoadConfig(const std::optional<std::string>& file_override = std::nullopt) const;
  // Loads the configuration and installs logging; prints the problem and returns nullopt on error.
  std::optional<Config> LoadConfigAndLogging();
};

void RegisterVersion(CLI::App& app, CliContext& ctx);
void RegisterConfig(CLI::App& app, CliContext& ctx);
void RegisterModel(CLI::App& app, CliContext& ctx);
void RegisterRun(CLI::App& app, CliContext& ctx);
void RegisterBench(CLI::App& app, CliContext& ctx);
void RegisterTokenize(CLI::App& app, CliContext& ctx);
void RegisterKb(CLI::App& app, CliContext& ctx);
void RegisterTemplate(CLI::App& app, CliContext& ctx);
void RegisterServe(CLI::App& app, CliContext& ctx);

// Prints "deepvault: <problem>" to stderr and returns the exit code for `status`
// (2 for invalid arguments, 1 otherwise).
int ReportError(const Status& status);

}  // namespace dv::cli
