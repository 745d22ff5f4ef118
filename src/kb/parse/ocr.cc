#include "kb/parse/ocr.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/utf8.h"

extern char** environ;

namespace dv::kb::internal {
namespace {

std::string FindOnPath(std::string_view program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    std::string dir(dirs.substr(pos, colon == std::string_view::npos ? dirs.npos : colon - pos));
    if (!dir.empty()) {
      std::string candidate = dir + "/" + std::string(program);
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  return {};
}

bool IsCjk(char32_t cp) {
  return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFFEF) ||
         (cp >= 0x20000 && cp <= 0x2FFFF);
}

// "中 华 人 民" → "中华人民"; spaces between Latin words stay.
std::string JoinCjkSpaces(std::string_view text) {
  std::u32string cps = utf8::ToCodePoints(text);
  std::u32string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (cps[i] == U' ' && !out.empty() && IsCjk(out.back())) {
      size_t j = i;
      while (j < cps.size() && cps[j] == U' ') ++j;
      if (j < cps.size() && IsCjk(cps[j])) {
        i = j - 1;
        continue;
      }
    }
    out.push_back(cps[i]);
  }
  return utf8::FromCodePoints(out);
}

}  // namespace

bool TesseractAvailable() {
  return !FindOnPath("tesseract").empty();
}

Result<std::string> RunTesseract(const std::string& image_path, std::string_view languages) {
  std::string exe = FindOnPath("tesseract");
  if (exe.empty()) return Unavailable("tesseract is not installed");
  for (char c : languages) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+')) {
      return InvalidArgument("bad OCR language list '" + std::string(languages) + "'");
    }
  }
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Internal("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string langs(languages);
  std::vector<char*> argv = {exe.data(),
                             const_cast<char*>(image_path.c_str()),
                             const_cast<char*>("stdout"),
                             const_cast<char*>("-l"),
                             langs.data(),
                             nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return Internal("cannot start tesseract");
  }
  std::string out;
  char buffer[8192];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    if (out.size() < (size_t{16} << 20)) out.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Internal("tesseract failed on " + image_path);
  }
  return JoinCjkSpaces(utf8::Sanitize(out));
}

}  // namespace dv::kb::internal
