// deepvault version
#include <cstdio>
#include <memory>

#include "cli/commands.h"

#ifndef DEEPVAULT_VERSION
#error "DEEPVAULT_VERSION must be defined by the build"
#endif

namespace dv::cli {

void RegisterVersion(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand("version", "Print the version and build features");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print a JSON object");
  cmd->callback([&ctx, json] {
    const char* compiler = __VERSION__;
#ifdef NDEBUG
    const char* build = "release";
#else
    const char* build = "debug";
#endif
    if (*json) {
      std::printf("{\"version\":\"%s\",\"build\":\"%s\",\"compiler\":\"%s\"}\n", DEEPVAULT_VERSION, build, compiler);
    } else {
      std::printf("deepvault %s (%s build, %s)\n", DEEPVAULT_VERSION, build, compiler);
    }
    ctx.exit_code = 0;
  });
}

}  // namespace dv::cli
