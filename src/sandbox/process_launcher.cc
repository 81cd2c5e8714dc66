#include "sandbox/process_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.h"

namespace sandbox {
namespace {

class ChildProcess final : public Sandbox {
 public:
  ChildProcess(pid_t pid, common::UniqueFd pidfd, std::filesystem::path workspace_link)
      : pid_(pid), pidfd_(std::move(pidfd)), workspace_link_(std::move(workspace_link)) {}
  ~ChildProcess() override { Kill(); }

  int ExitFd() const override { return pidfd_.Get(); }

  void Kill() override {
    if (status_) return;
    // The kernel leads its own process group: take any children it forked with it.
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
  }

  std::optional<int> ExitStatus() override {
    if (!status_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = status;
        ::kill(-pid_, SIGKILL);  // leftovers in its group
      }
    }
    return status_;
  }

  // The kernel runs as the gateway's user: nothing to give. Its first cell enters the link.
  common::Result<void> AttachWorkspace(HostWorkspace& workspace) override {
    if (::symlink(workspace.Path().c_str(), workspace_link_.c_str()) != 0)
      return common::ErrnoFail("symlink(" + workspace_link_.string() + ")");
    return {};
  }

  // No isolation, no limits (development only): a session's limits are accepted and, like
  // the server's, not enforced.
  common::Result<void> AdjustLimits(const ResourceLimits& /*limits*/) override { return {}; }

  std::string Describe() const override { return "pid " + std::to_string(pid_); }

 private:
  pid_t pid_;
  common::UniqueFd pidfd_;
  std::filesystem::path workspace_link_;
  std::optional<int> status_;
};

}  // namespace

std::vector<char*> ExecStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string DescribeExitStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "status " + std::to_string(status);
}

namespace {

// Run in the kernel at start-up (IPKernelApp.exec_lines): wraps sys.stdout and sys.stderr so
// that each keeps at most `limit` characters per execution and drops the rest before it is
// buffered. Names are removed from the user's namespace afterwards.
constexpr const char* kStreamCapCode = R"PY(def _ci_cap_streams(limit):
    import sys
    from IPython import get_ipython
    class CappedStream:
        def __init__(self, stream):
            self._ci_stream = stream
            self._ci_left = limit
        def write(self, text):
            n = len(text)
            if self._ci_left > 0:
                part = text[:self._ci_left]
                self._ci_left -= len(part)
                self._ci_stream.write(part)
            return n
        def writelines(self, lines):
            for line in lines:
                self.write(line)
        def __getattr__(self, name):
            return getattr(self._ci_stream, name)
    streams = [CappedStream(sys.stdout), CappedStream(sys.stderr)]
    sys.stdout, sys.stderr = streams
    def reset(*args):
        for s in streams:
            s._ci_left = limit
    get_ipython().events.register('pre_execute', reset)
_ci_cap_streams(LIMIT)
del _ci_cap_streams
)PY";

}  // namespace

std::vector<std::string> KernelCommand(const WorkerSpec& spec, const std::string& connection_file) {
  std::vector<std::string> argv = {spec.python,
                                   "-m",
                                   "ipykernel_launcher",
                                   "-f",
                                   connection_file,
                                   "--HistoryManager.enabled=False",
                                   "--Application.log_level=WARN"};
  if (spec.stream_cap_chars > 0) {
    std::string code = kStreamCapCode;
    code.replace(code.find("LIMIT"), 5, std::to_string(spec.stream_cap_chars));
    argv.push_back("--IPKernelApp.exec_lines=" + code);
  }
  argv.insert(argv.end(), spec.kernel_args.begin(), spec.kernel_args.end());
  return argv;
}

ProcessLauncher::ProcessLauncher() {
  spdlog::warn(
      "*** SANDBOX DISABLED (--sandbox=none): kernels run as plain processes with the "
      "gateway's user, filesystem and network. Never use this with untrusted code. ***");
}

common::Result<std::unique_ptr<Sandbox>> ProcessLauncher::Launch(const WorkerSpec& spec) {
  // Everything the child needs is prepared before fork: after it, only raw syscalls.
  std::vector<std::string> argv = KernelCommand(spec, spec.connection_file.string());
  std::vector<std::string> envs = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                                   "HOME=" + spec.dir.string(), "PYTHONDONTWRITEBYTECODE=1",
                                   "PYDEVD_DISABLE_FILE_VALIDATION=1"};
  // A matplotlib cache shared by all workers of this launcher: fonts are indexed once.
  const std::filesystem::path mplconfig = spec.dir.parent_path() / "mplconfig";
  std::error_code ec;
  std::filesystem::create_directories(mplconfig, ec);
  envs.push_back("MPLCONFIGDIR=" + mplconfig.string());
  const std::filesystem::path workspace_link = spec.dir / "workspace";
  envs.push_back("CODE_INTERPRETER_WORKSPACE=" + workspace_link.string());
  for (const auto& [key, value] : spec.env) envs.push_back(key + "=" + value);
  std::vector<char*> c_argv = ExecStrings(argv);
  std::vector<char*> c_envp = ExecStrings(envs);
  const std::string dir = spec.dir.string();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) return common::ErrnoFail("fork");
  if (pid == 0) {
    ::setsid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(127);
    // Undo the gateway's signal setup: the kernel relies on SIGINT for interrupts.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      // stderr stays: kernel crashes are worth seeing in the gateway's log.
    }
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    }
    if (::chdir(dir.c_str()) != 0) _exit(127);
    ::execve(c_argv[0], c_argv.data(), c_envp.data());
    _exit(127);
  }
  common::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.Valid()) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return common::ErrnoFail("pidfd_open", err);
  }
  return std::make_unique<ChildProcess>(pid, std::move(pidfd), workspace_link);
}

common::Result<std::shared_ptr<HostWorkspace>> ProcessLauncher::CreateWorkspace(
    const std::filesystem::path& path, std::uint64_t /*bytes*/) {
  return HostWorkspace::Create(path, /*tmpfs=*/false, {}, {});
}

}  // namespace sandbox
