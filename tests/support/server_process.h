// Runs the real `code-interpreter serve` binary for an integration test: a private state and
// runtime dir, port 0 (the bound port is read from the log line "listening on HOST:PORT"),
// stderr collected by a thread. The destructor stops the server with SIGTERM. The binary is
// the one built with the tests, or $CI_TEST_BINARY (e.g. an older build, to compare).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"

namespace testing_support {

class ServerProcess {
 public:
  // `extra` are appended to: serve --sandbox=<TestSandbox()> --listen 127.0.0.1:0 --state-dir ...
  // --runtime-dir ... With `dir`, the state and runtime dirs live there (a test that restarts
  // a server on the same dirs owns it); otherwise in a private temporary directory.
  explicit ServerProcess(std::vector<std::string> extra = {}, std::string dir = {});
  // The same as an ordinary user: the server runs as `uid` (gid the same, no supplementary
  // groups), from a copy of the binary in its own temporary directory (the build tree may be
  // out of that user's reach). For a test running as root.
  static ServerProcess AsUser(unsigned uid, std::vector<std::string> extra = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& token() const { return token_; }
  const std::string& runtime_dir() const { return runtime_dir_; }
  HttpClient Client() const { return HttpClient(port_, token_); }

  // Sends SIGTERM and waits for exit; returns the exit status (waitpid format), or -1.
  int Stop() { return Signal(SIGTERM); }
  // Sends `signal` (SIGKILL: a crash) and waits for exit; the same return value.
  int Signal(int signal);
  // Everything the server logged so far.
  std::string Log();

 private:
  ServerProcess(std::vector<std::string> extra, std::string dir, unsigned uid);

  std::string dir_;
  bool owns_dir_ = true;
  std::string runtime_dir_;
  std::string token_;
  pid_t pid_ = -1;
  int port_ = 0;
  int stderr_fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::string log_;
};

// Host pids of the processes that hold a file named `marker` open (a kernel can open
// "/tmp/<marker>"; inside a sandbox its own pid means nothing on the host).
std::vector<int> HostPidsHolding(const std::string& marker);

// Python that opens such a marker file and keeps it open for the kernel's lifetime.
std::string OpenMarkerCode(const std::string& marker);

// The sandbox backend tests run on: $CI_TEST_SANDBOX, else "namespaces" as root, else "none".
std::string TestSandbox();

// Polls `condition` every 20 ms for up to `seconds`; for states only observable by asking
// (e.g. GET /status after a reaper runs). Returns the last result.
bool WaitFor(const std::function<bool()>& condition, double seconds);

}  // namespace testing_support
