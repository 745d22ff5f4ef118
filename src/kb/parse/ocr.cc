#include "kb/parse/ocr.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/utf8.h"

extern char** environ;

namespace dv::kb::internal {
namespace {

std::string FindOnPath(std::string_view program) {
  // getenv is safe here: deepvault never modifies its environment after start-up.
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
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

Result<std::string> RecognizeGrayImage(const unsigned char* pixels, int width, int height, int stride,
                                       std::string_view languages) {
  std::string exe = FindOnPath("tesseract");
  if (exe.empty()) return Unavailable("tesseract is not installed");
  for (char c : languages) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+')) {
      return InvalidArgument("bad OCR language list '" + std::string(languages) + "'");
    }
  }
  if (width <= 0 || height <= 0 || stride < width) return InvalidArgument("bad image size");
  std::string pgm = "P5\n" + std::to_string(width) + " " + std::to_string(height) + "\n255\n";
  pgm.reserve(pgm.size() + static_cast<size_t>(width) * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    pgm.append(reinterpret_cast<const char*>(pixels) + static_cast<size_t>(y) * static_cast<size_t>(stride),
               static_cast<size_t>(width));
  }

  // stdin is a socket, not a pipe: send(MSG_NOSIGNAL) reports a tesseract that died early as an
  // error instead of raising SIGPIPE in our process.
  int in_fds[2], out_fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_fds) != 0) return Internal("socketpair failed");
  if (pipe2(out_fds, O_CLOEXEC) != 0) {
    close(in_fds[0]);
    close(in_fds[1]);
    return Internal("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, in_fds[1]);
  posix_spawn_file_actions_addclose(&actions, out_fds[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string langs(languages);
  std::vector<char*> argv = {
      exe.data(), const_cast<char*>("stdin"), const_cast<char*>("stdout"), const_cast<char*>("-l"), langs.data(),
      nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_fds[0]);
  close(out_fds[1]);
  if (rc != 0) {
    close(in_fds[1]);
    close(out_fds[0]);
    return Internal("cannot start tesseract");
  }
  // tesseract reads its whole input before it writes anything, so writing first cannot deadlock.
  bool write_failed = false;
  for (size_t done = 0; done < pgm.size();) {
    ssize_t n = send(in_fds[1], pgm.data() + done, pgm.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_failed = true;
      break;
    }
    done += static_cast<size_t>(n);
  }
  close(in_fds[1]);
  std::string out;
  char buffer[8192];
  for (;;) {
    ssize_t n = read(out_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < (size_t{16} << 20)) out.append(buffer, static_cast<size_t>(n));
  }
  close(out_fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (write_failed || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Internal("tesseract failed");
  }
  return JoinCjkSpaces(utf8::Sanitize(out));
}

}  // namespace dv::kb::internal
