#include "sandbox/namespaces_launcher.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/defer.h"
#include "common/unique_fd.h"
#include "sandbox/cgroup.h"
#include "sandbox/init_spec.h"
#include "sandbox/oom_score.h"
#include "sandbox/process_launcher.h"
#include "sandbox/worker_dir.h"
#include "sandbox/worker_mount.h"

namespace sandbox {
namespace {

namespace fs = std::filesystem;

constexpr unsigned long kNamespaces =
    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
constexpr int kSetupTimeoutMs = 10000;

class NamespacedKernel final : public Sandbox {
 public:
  NamespacedKernel(pid_t pid, common::UniqueFd pidfd, common::UniqueFd channel,
                   std::unique_ptr<Cgroup> cgroup, std::string worker_dir, std::string root,
                   unsigned uid, std::function<void()> release_slot)
      : pid_(pid),
        pidfd_(std::move(pidfd)),
        channel_(std::move(channel)),
        cgroup_(std::move(cgroup)),
        worker_dir_(std::move(worker_dir)),
        root_(std::move(root)),
        uid_(uid),
        release_slot_(std::move(release_slot)) {}
  ~NamespacedKernel() override { Kill(); }

  int ExitFd() const override { return pidfd_.Get(); }

  common::Result<void> AddToCgroups(pid_t pid) { return cgroup_->AddProcess(pid); }

  // The kernel has bound its sockets and read its connection file: hand the worker
  // directory back to root, so user code cannot store anything on the host through it.
  // Bound sockets keep working; only the gateway (root) connects to them.
  void OnKernelReady() override {
    if (!SealWorkerDir(worker_dir_)) Kill();
  }

  void Kill() override {
    if (killed_) return;
    killed_ = true;
    // SIGKILL to pid 1 of the namespace takes every process in it along.
    ::kill(pid_, SIGKILL);
    Reap(0);
    cgroup_->Kill();  // second line: anything that is still in the worker's cgroups
    cgroup_->Remove();
    UnmountWorkerDir(worker_dir_);  // before the pool removes the directory
    std::error_code ec;
    fs::remove(root_, ec);  // an empty mount point on the host
    release_slot_();
  }

  std::optional<int> ExitStatus() override {
    if (!init_status_) Reap(WNOHANG);
    if (!init_status_) return std::nullopt;
    if (!kernel_status_) {
      // Init reports the kernel's own status before exiting; without it, report init's.
      char buf[64];
      const ssize_t n = ::recv(channel_.Get(), buf, sizeof buf - 1, MSG_DONTWAIT);
      if (n > 1 && buf[0] == 'X') {
        buf[n] = '\0';
        const int status = std::atoi(buf + 1);
        kernel_status_ = status >= 0 ? status : *init_status_;
      } else {
        kernel_status_ = *init_status_;
      }
    }
    return kernel_status_;
  }

  bool OutOfMemory() const override { return cgroup_->OomKilled(); }

  std::string Describe() const override {
    return "pid " + std::to_string(pid_) + ", uid " + std::to_string(uid_) + ", namespaces";
  }

 private:
  void Reap(int flags) {
    if (init_status_) return;
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(pid_, &status, flags)) < 0 && errno == EINTR) {
    }
    if (got == pid_) init_status_ = status;
  }

  pid_t pid_;
  common::UniqueFd pidfd_;
  common::UniqueFd channel_;
  std::unique_ptr<Cgroup> cgroup_;
  std::string worker_dir_;
  std::string root_;
  unsigned uid_;
  std::function<void()> release_slot_;
  std::optional<int> init_status_;
  std::optional<int> kernel_status_;
  bool killed_ = false;
};

std::string SelfExe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).string();
}

// Waits for init's first message: "K" (kernel started) or "E<reason>".
common::Result<void> AwaitSetup(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, kSetupTimeoutMs) <= 0) return common::Fail("sandbox setup timed out");
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return common::Fail("sandbox init exited during setup");
  if (buf[0] == 'K') return {};
  return common::Fail("sandbox setup failed: " +
                      std::string(buf + 1, static_cast<std::size_t>(n - 1)));
}

}  // namespace

common::Result<void> NamespacesLauncher::CheckHost() {
  if (::geteuid() != 0) {
    return common::Fail(
        "the namespaces sandbox needs root (to create namespaces, cgroups and per-worker uids)");
  }
  if (auto cgroups = Cgroup::CheckHost(); !cgroups) return cgroups;
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
    return common::Fail("this kernel has no seccomp support");
  if (SelfExe().empty()) return common::Fail("cannot resolve /proc/self/exe");
  // Can we create every namespace? A child that exits at once tells.
  int pidfd = -1;
  const long pid = ::syscall(SYS_clone, kNamespaces | CLONE_NEWCGROUP | CLONE_PIDFD | SIGCHLD,
                             nullptr, &pidfd, nullptr, 0);
  if (pid < 0) return common::ErrnoFail("clone(new pid, mount, net, ipc, uts, cgroup namespaces)");
  if (pid == 0) _exit(0);
  ::close(pidfd);
  ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return {};
}

NamespacesLauncher::NamespacesLauncher(Limits limits, std::string scope, std::string init_exe)
    : limits_(limits),
      scope_(std::move(scope)),
      self_exe_(init_exe.empty() ? SelfExe() : std::move(init_exe)),
      uids_(scope_) {
  for (const std::string& stale : Cgroup::SweepStale(scope_))
    spdlog::info("removed stale cgroup {}", stale);
  for (const std::string& stale : SweepWorkerMounts(scope_))
    spdlog::info("unmounted stale worker directory {}", stale);
  if (!HoldsSysResource()) {
    spdlog::warn(
        "no CAP_SYS_RESOURCE: kernels start at oom_score_adj {} but may lower it down to the "
        "gateway's own minimum",
        kKernelOomScoreAdj);
  }
}

NamespacesLauncher::~NamespacesLauncher() { Cgroup::RemoveScope(scope_); }

std::string NamespacesLauncher::ScopeFor(const std::string& runtime_dir) {
  common::HmacSha256 digest("code-interpreter cgroup scope");
  digest.Update(runtime_dir);
  return "i-" + digest.FinishHex().substr(0, 12);
}

common::Result<std::unique_ptr<Sandbox>> NamespacesLauncher::Launch(const WorkerSpec& spec) {
  auto [uid, release] = uids_.Take();
  const std::string root = spec.dir.string() + ".root";
  // Until a NamespacedKernel owns them, the slot and the mount point are given back on return.
  common::Defer undo([&] {
    UnmountWorkerDir(spec.dir.string());
    release();
    std::error_code ignored;
    fs::remove(root, ignored);
  });

  if (auto mounted = MountWorkerDir(spec.dir.string(), scope_); !mounted)
    return std::unexpected(mounted.error());
  // The kernel creates its sockets in the worker directory and reads its own view of the
  // connection (socket paths under /run/kernel).
  auto inside = PrepareWorkerDir(spec, uid);
  if (!inside) return std::unexpected(inside.error());
  const std::string& inside_path = *inside;
  std::error_code ec;
  fs::remove(root, ec);
  if (::mkdir(root.c_str(), 0755) != 0) return common::ErrnoFail("mkdir(" + root + ")");
  auto cgroup = Cgroup::Create(scope_, spec.name, limits_);
  if (!cgroup) return std::unexpected(cgroup.error());

  InitSpec init;
  init.root = root;
  init.worker_dir = spec.dir.string();
  init.uid = uid;
  init.gid = uid;
  init.limits = limits_;
  init.argv = KernelCommand(spec, inside_path);
  init.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", std::string("HOME=") + kHomeDir,
              "PYTHONDONTWRITEBYTECODE=1", "PYDEVD_DISABLE_FILE_VALIDATION=1"};
  const std::string spec_json = nlohmann::json(init).dump();

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return common::ErrnoFail("socketpair");
  }
  common::UniqueFd ours(pair[0]);
  common::UniqueFd theirs(pair[1]);

  // Prepared before clone: the child may only make raw system calls (the parent has threads).
  std::string fd_arg = std::to_string(theirs.Get());
  std::string exe = self_exe_;
  std::string command = "__sandbox-init";
  char* argv[] = {exe.data(), command.data(), fd_arg.data(), nullptr};
  char* envp[] = {nullptr};
  const int child_fd = theirs.Get();

  int pidfd = -1;
  const long pid =
      ::syscall(SYS_clone, kNamespaces | CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, 0);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    char go = 0;
    // Blocks until the gateway has moved us into the cgroups.
    if (::read(child_fd, &go, 1) != 1 || go != 'G') _exit(125);
    // Nothing of the gateway's crosses the exec (its listening socket and client connections
    // are not close-on-exec): only the channel to the gateway does.
    ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    ::fcntl(child_fd, F_SETFD, 0);
    ::execve(argv[0], argv, envp);
    _exit(127);
  }
  if (pid < 0) return common::ErrnoFail("clone(namespaces)");
  theirs.Reset();
  undo.Cancel();
  auto kernel = std::make_unique<NamespacedKernel>(static_cast<pid_t>(pid), common::UniqueFd(pidfd),
                                                   std::move(ours), std::move(*cgroup),
                                                   spec.dir.string(), root, uid, release);
  const int channel = pair[0];  // owned by `kernel` now
  // From here on, a failure destroys `kernel`, which kills the child and removes everything.
  if (auto added = kernel->AddToCgroups(static_cast<pid_t>(pid)); !added)
    return std::unexpected(added.error());
  if (::send(channel, "G", 1, MSG_NOSIGNAL) != 1 ||
      ::send(channel, spec_json.data(), spec_json.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(spec_json.size())) {
    return common::ErrnoFail("send(sandbox spec)");
  }
  if (auto ready = AwaitSetup(channel); !ready) return std::unexpected(ready.error());
  return kernel;
}

}  // namespace sandbox
