#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace dv::testing {
namespace fs = std::filesystem;

namespace {
fs::path EnvDir(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return fs::path(v && *v ? v : fallback);
}
}  // namespace

fs::path FixturePath(const std::string& relative) {
  return EnvDir("DV_TEST_FIXTURES", DV_DEFAULT_FIXTURES_DIR) / relative;
}

fs::path SharedPath(const std::string& relative) {
  fs::path p = EnvDir("DV_SHARED_DIR", DV_DEFAULT_SHARED_DIR) / relative;
  std::error_code ec;
  return fs::exists(p, ec) ? p : fs::path();
}

fs::path BinaryPath(const std::string& name) { return EnvDir("DV_BIN_DIR", DV_DEFAULT_BIN_DIR) / name; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

CommandResult RunCommand(const std::string& command, const std::string& stdin_data) {
  TempDir tmp;
  const fs::path in = tmp.path() / "stdin", out = tmp.path() / "stdout", err = tmp.path() / "stderr";
  WriteFile(in, stdin_data);
  const std::string full = "(" + command + ") <'" + in.string() + "' >'" + out.string() + "' 2>'" +
                           err.string() + "'";
  const int rc = std::system(full.c_str());
  CommandResult r;
  r.exit_code = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path p = fs::temp_directory_path() / ("dvtest-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(p, ec)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace dv::testing
