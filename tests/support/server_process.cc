#include "support/server_process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#ifndef CI_BINARY
#error "CI_BINARY must name the code-interpreter binary"
#endif

namespace testing_support {

ServerProcess::ServerProcess(std::vector<std::string> extra, std::string dir)
    : ServerProcess(std::move(extra), std::move(dir), 0) {}

ServerProcess ServerProcess::AsUser(unsigned uid, std::vector<std::string> extra) {
  return ServerProcess(std::move(extra), {}, uid);
}

ServerProcess::ServerProcess(std::vector<std::string> extra, std::string dir, unsigned uid) {
  if (dir.empty()) {
    char templ[] = "/tmp/ci-test-XXXXXX";
    dir_ = ::mkdtemp(templ);
  } else {
    dir_ = std::move(dir);
    owns_dir_ = false;
  }
  runtime_dir_ = dir_ + "/run";
  const std::string state_dir = dir_ + "/state";
  const char* env_binary = std::getenv("CI_TEST_BINARY");
  std::string binary = env_binary == nullptr || *env_binary == '\0' ? CI_BINARY : env_binary;
  if (uid != 0) {
    const std::string copy = dir_ + "/code-interpreter";
    std::error_code ec;
    std::filesystem::copy_file(binary, copy, ec);
    if (ec || ::chown(dir_.c_str(), uid, uid) != 0 || ::chmod(copy.c_str(), 0755) != 0) return;
    binary = copy;
  }
  std::vector<std::string> args = {binary,     "serve",         "--sandbox=" + TestSandbox(),
                                   "--listen", "127.0.0.1:0",   "--state-dir",
                                   state_dir,  "--runtime-dir", runtime_dir_};
  // The host's own Python unless a test chooses: the suites must not depend on which
  // environments this machine happens to have built.
  if (std::none_of(extra.begin(), extra.end(),
                   [](const std::string& a) { return a.starts_with("--environment"); }))
    args.push_back("--environment=host");
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], 2);
    if (uid != 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
                     ::setresuid(uid, uid, uid) != 0)) {
      _exit(126);
    }
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];

  // Read the log until the listening line (or EOF), then keep draining in a thread so the
  // server never blocks on a full pipe.
  std::string pending;
  const std::regex listening("listening on [0-9.]+:([0-9]+)");
  char buf[4096];
  while (port_ == 0) {
    const ssize_t n = ::read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::smatch match;
    if (std::regex_search(pending, match, listening)) port_ = std::stoi(match[1]);
  }
  log_ = pending;
  reader_ = std::thread([this] {
    char chunk[4096];
    while (true) {
      const ssize_t n = ::read(stderr_fd_, chunk, sizeof chunk);
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      log_.append(chunk, static_cast<std::size_t>(n));
    }
  });
  std::ifstream token_file(state_dir + "/auth_token.txt");
  std::getline(token_file, token_);
}

int ServerProcess::Signal(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  return status;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
  if (reader_.joinable()) reader_.join();
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
  std::error_code ec;
  if (owns_dir_) std::filesystem::remove_all(dir_, ec);
}

std::string ServerProcess::Log() {
  std::lock_guard lock(mu_);
  return log_;
}

std::vector<int> HostPidsHolding(const std::string& marker) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& process : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = process.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    for (const auto& fd : std::filesystem::directory_iterator(process.path() / "fd", ec)) {
      const auto target = std::filesystem::read_symlink(fd.path(), ec);
      if (!ec && target.filename() == marker) {
        pids.push_back(std::stoi(name));
        break;
      }
    }
  }
  return pids;
}

std::string OpenMarkerCode(const std::string& marker) {
  return "_ci_marker = open('/tmp/" + marker + "', 'w')\n";
}

std::string TestSandbox() {
  if (const char* env = std::getenv("CI_TEST_SANDBOX"); env != nullptr && *env != '\0') return env;
  return ::geteuid() == 0 ? "namespaces" : "none";
}

bool WaitFor(const std::function<bool()>& condition, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace testing_support
