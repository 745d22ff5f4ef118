// deepvault config check [FILE]
#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace dv::cli {

void RegisterConfig(CLI::App& app, CliContext& ctx) {
  auto* config = app.add_subcommand("config", "Inspect the configuration");
  config->require_subcommand(1);
  auto* check = config->add_subcommand(
      "check", "Validate the configuration (defaults < FILE < DEEPVAULT_* env < flags) and print it");
  // CLI11 binds options by reference; the shared_ptr keeps the target alive with the callback.
  auto check_file = std::make_shared<std::string>();
  check->add_option("FILE", *check_file, "TOML file to check (default: --config)");
  check->callback([&ctx, check_file] {
    std::optional<std::string> override_file;
    if (!check_file->empty()) override_file = *check_file;
    auto cfg = ctx.LoadConfig(override_file);
    if (!cfg.ok()) {
      ctx.exit_code = ReportError(cfg.status().AddContext("config check"));
      return;
    }
    for (const auto& w : cfg->warnings()) std::fprintf(stderr, "deepvault: warning: %s\n", w.c_str());
    std::fputs(cfg->ToToml().c_str(), stdout);
    ctx.exit_code = 0;
  });
}

}  // namespace dv::cli
