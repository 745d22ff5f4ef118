// Helpers for locating test data.
//
//   FixturePath("tokenizers/x.gguf")  → <repo>/tests/fixtures/tokenizers/x.gguf (always present)
//   SharedPath("eval/cranfield")      → <repo>/../shared/eval/cranfield, or "" when ../shared is absent
//   BinaryPath("deepvault")           → <build>/bin/deepvault
//   TempDir                           → a fresh directory removed when the object dies
#pragma once

#include <filesystem>
#include <string>

namespace dv::testing {

std::filesystem::path FixturePath(const std::string& relative);
// Empty path when the shared directory (or the file in it) does not exist.
std::filesystem::path SharedPath(const std::string& relative);
std::filesystem::path BinaryPath(const std::string& name);
std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const std::string& contents);

// Result of running a command through /bin/sh.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs `command` with /bin/sh -c, capturing stdout and stderr. `stdin_data` is fed to stdin.
CommandResult RunCommand(const std::string& command, const std::string& stdin_data = "");

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace dv::testing
