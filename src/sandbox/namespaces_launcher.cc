#include "sandbox/namespaces_launcher.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
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
#include "sandbox/mount_attach.h"
#include "sandbox/oom_score.h"
#include "sandbox/process_launcher.h"
#include "sandbox/user_ns.h"
#include "sandbox/worker_dir.h"
#include "sandbox/worker_mount.h"
#include "workspace/give_tree.h"

namespace sandbox {
namespace {

namespace fs = std::filesystem;

// The user namespace first: it owns the others, and it is what lets an ordinary user make them.
constexpr unsigned long kNamespaces =
    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
constexpr int kSetupTimeoutMs = 10000;

class NamespacedKernel final : public Sandbox {
 public:
  NamespacedKernel(pid_t pid, common::UniqueFd pidfd, common::UniqueFd channel,
                   std::unique_ptr<Cgroup> cgroup, std::string worker_dir, bool tmpfs_dir,
                   unsigned uid, bool data_limited, std::function<void()> release_slot)
      : pid_(pid),
        pidfd_(std::move(pidfd)),
        channel_(std::move(channel)),
        cgroup_(std::move(cgroup)),
        worker_dir_(std::move(worker_dir)),
        tmpfs_dir_(tmpfs_dir),
        uid_(uid),
        data_limited_(data_limited),
        release_slot_(std::move(release_slot)) {}
  ~NamespacedKernel() override { Kill(); }

  int ExitFd() const override { return pidfd_.Get(); }

  common::Result<void> AddToCgroups(pid_t pid) {
    return cgroup_ ? cgroup_->AddProcess(pid) : common::Result<void>{};
  }

  // The kernel has bound its sockets and read its connection file: its view of the worker
  // directory becomes read-only (init remounts it), and the directory goes back to the
  // gateway's user, so user code cannot store anything on the host through it. Bound
  // sockets keep working; only the gateway connects to them.
  void OnKernelReady() override {
    if (!SealWorkerDir(worker_dir_) || !SealInside()) Kill();
  }

  void Kill() override {
    if (killed_) return;
    killed_ = true;
    // SIGKILL to pid 1 of the namespace takes every process in it along.
    ::kill(pid_, SIGKILL);
    Reap(0);
    if (cgroup_) {
      cgroup_->Kill();  // second line: anything that is still in the worker's cgroups
      cgroup_->Remove();
    }
    if (tmpfs_dir_) UnmountWorkerDir(worker_dir_);  // before the pool removes the directory
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

  // Without cgroups (rootless, accepted unenforced) only the rlimits change.
  common::Result<void> AdjustLimits(const ResourceLimits& limits) override {
    if (cgroup_) {
      if (auto updated = cgroup_->Update(limits); !updated) return updated;
    }
    return WriteKernelLimits(worker_dir_, KernelLimitsFor(limits, data_limited_));
  }

  bool OutOfMemory() const override { return cgroup_ && cgroup_->OomKilled(); }
  std::optional<ResourceUsage> Usage() const override {
    return cgroup_ ? cgroup_->Usage().Read() : std::nullopt;
  }
  void ResetPeakMemory() override {
    if (cgroup_) cgroup_->Usage().ResetPeak();
  }

  // Privileged only (NamespacesLauncher::NoWorkspaces says why not rootless).
  common::Result<void> AttachWorkspace(HostWorkspace& workspace) override {
    const workspace::Ownership owner{uid_, uid_};
    auto given = workspace::GiveTree(workspace.RootFd(), owner);
    if (!given)
      return common::Fail("giving the workspace to " + Describe() + ": " + given.error().message);
    if (given->depth_cut) {
      spdlog::warn("workspace {}: entries deeper than the walk's bound keep their owner",
                   workspace.Path().string());
    }
    workspace.SetOwner(owner);
    return AttachMountInto(pidfd_.Get(), workspace.Path().string(), kWorkspaceDir);
  }

  std::string Describe() const override {
    return "pid " + std::to_string(pid_) + ", uid " + std::to_string(uid_) + ", namespaces";
  }

 private:
  // Asks init to make /run/kernel read-only and waits for its answer.
  bool SealInside() {
    if (::send(channel_.Get(), "R", 1, MSG_NOSIGNAL) != 1) return false;
    pollfd p{channel_.Get(), POLLIN, 0};
    char reply[512];
    if (::poll(&p, 1, kSetupTimeoutMs) <= 0) return false;
    const ssize_t n = ::recv(channel_.Get(), reply, sizeof reply, 0);
    if (n == 1 && reply[0] == 'r') return true;
    spdlog::error("cannot make the kernel's /run/kernel read-only in {}: {}", Describe(),
                  n > 1 && reply[0] == 'E' ? std::string(reply + 1, static_cast<std::size_t>(n - 1))
                                           : std::string("no answer from the sandbox's init"));
    return false;
  }

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
  bool tmpfs_dir_;  // the worker directory is a tmpfs of ours (privileged only)
  unsigned uid_;
  bool data_limited_;  // the kernel runs with a data limit (set by its memory limit)
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

std::string NamespacesLauncher::NoWorkspaces() const {
  if (host_.privileged) return {};
  return "session workspaces need the namespaces backend to run as root (rootless mode cannot "
         "mount them into a running sandbox yet)";
}

common::Result<std::shared_ptr<HostWorkspace>> NamespacesLauncher::CreateWorkspace(
    const std::filesystem::path& path, std::uint64_t bytes) {
  WorkspaceLimits limits = workspace_limits_;
  if (bytes > 0) limits.bytes = bytes;
  return HostWorkspace::Create(path, /*tmpfs=*/true, limits, scope_);
}

std::vector<std::string> NamespacesHost::Unenforced() const {
  if (cgroups) return {};
  return {"memory (--memory)", "CPU (--cpus)",
          "processes (--pids) beyond each sandbox's RLIMIT_NPROC"};
}

common::Result<NamespacesHost> NamespacesLauncher::CheckHost() {
  NamespacesHost host;
  host.privileged = ::geteuid() == 0;
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
    return common::Fail("this kernel has no seccomp support");
  if (SelfExe().empty()) return common::Fail("cannot resolve /proc/self/exe");
  // Can we create every namespace? A child that exits at once tells.
  int pidfd = -1;
  const long pid = ::syscall(SYS_clone, kNamespaces | CLONE_NEWCGROUP | CLONE_PIDFD | SIGCHLD,
                             nullptr, &pidfd, nullptr, 0);
  if (pid < 0) {
    return common::ErrnoFail(
        std::string("clone(new user, pid, mount, net, ipc, uts, cgroup namespaces)") +
        (host.privileged ? "" : "; unprivileged user namespaces may be disabled on this host"));
  }
  if (pid == 0) _exit(0);
  ::close(pidfd);
  ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  if (auto cgroups = Cgroup::CheckHost(); cgroups) {
    host.cgroups = true;
  } else {
    host.no_cgroups = cgroups.error().message;
  }
  return host;
}

NamespacesLauncher::NamespacesLauncher(Limits limits, std::string scope, NamespacesHost host,
                                       std::string init_exe, WorkspaceLimits workspace_limits)
    : limits_(limits),
      workspace_limits_(workspace_limits),
      scope_(std::move(scope)),
      host_(std::move(host)),
      self_exe_(init_exe.empty() ? SelfExe() : std::move(init_exe)),
      uids_(scope_) {
  if (host_.cgroups) {
    for (const std::string& stale : Cgroup::SweepStale(scope_))
      spdlog::info("removed stale cgroup {}", stale);
  }
  if (host_.privileged) {
    for (const std::string& stale : SweepWorkerMounts(scope_))
      spdlog::info("unmounted stale worker directory {}", stale);
    for (const std::string& stale : HostWorkspace::SweepStale(scope_))
      spdlog::info("unmounted stale workspace {}", stale);
  }
  if (!HoldsSysResource()) {
    spdlog::warn(
        "no CAP_SYS_RESOURCE: kernels start at oom_score_adj {} but may lower it down to the "
        "gateway's own minimum",
        kKernelOomScoreAdj);
  }
}

NamespacesLauncher::~NamespacesLauncher() {
  if (host_.cgroups) Cgroup::RemoveScope(scope_);
}

std::string NamespacesLauncher::ScopeFor(const std::string& runtime_dir) {
  common::HmacSha256 digest("code-interpreter cgroup scope");
  digest.Update(runtime_dir);
  return "i-" + digest.FinishHex().substr(0, 12);
}

common::Result<std::unique_ptr<Sandbox>> NamespacesLauncher::Launch(const WorkerSpec& spec) {
  auto slot = uids_.Take();
  if (!slot)
    return common::Fail("no free worker uid: " + std::to_string(UidSlots::kSlots) + " in use");
  const UserNsMap ids = host_.privileged ? UserNsMap::ForSlot(slot->root_uid, slot->kernel_uid)
                                         : UserNsMap::ForSelf();
  const bool tmpfs_dir = host_.privileged;
  // Until a NamespacedKernel owns them, the slot and the worker mount are given back on return.
  common::Defer undo([&] {
    if (tmpfs_dir) UnmountWorkerDir(spec.dir.string());
    slot->release();
  });

  // Rootless, the directory stays on the runtime dir's filesystem (an ordinary user cannot
  // mount); the kernel's view of it is read-only once it is ready either way.
  if (tmpfs_dir) {
    if (auto mounted = MountWorkerDir(spec.dir.string(), scope_); !mounted)
      return std::unexpected(mounted.error());
  }
  // The kernel creates its sockets in the worker directory and reads its own view of the
  // connection (socket paths under /run/kernel).
  auto inside = PrepareWorkerDir(spec, ids.KernelHostUid());
  if (!inside) return std::unexpected(inside.error());
  const std::string& inside_path = *inside;
  std::unique_ptr<Cgroup> cgroup;
  if (host_.cgroups) {
    auto created = Cgroup::Create(scope_, spec.name, limits_);
    if (!created) return std::unexpected(created.error());
    cgroup = std::move(*created);
  }
  // Init may not be allowed to look these up by path (it runs as the sandbox's root, an
  // unprivileged host uid): it gets them as descriptors that cross its exec. The binary is
  // opened here; the worker directory and the environment's root, which init must mount, by
  // the child in its own mount namespace (a mount of the gateway's namespace cannot be bound
  // there): `worker` and `system` only reserve the descriptor numbers the child puts them at.
  common::UniqueFd exe(::open(self_exe_.c_str(), O_PATH | O_CLOEXEC));
  if (!exe.Valid()) return common::ErrnoFail("open(" + self_exe_ + ")");
  common::UniqueFd worker(::open("/", O_PATH | O_CLOEXEC));
  common::UniqueFd system(::open("/", O_PATH | O_CLOEXEC));
  if (!worker.Valid() || !system.Valid()) return common::ErrnoFail("open(/)");
  const std::string worker_path = spec.dir.string();
  const std::string system_path = spec.environment.root.string();  // "": the host's own

  InitSpec init;
  init.worker_fd = worker.Get();
  init.uid = ids.KernelUid();
  init.gid = ids.KernelUid();
  init.limits = limits_;
  if (!system_path.empty()) {
    init.system_root = system_path;
    init.system_fd = system.Get();
  }
  init.argv = KernelCommand(spec, inside_path);
  init.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", std::string("HOME=") + kHomeDir,
              "PYTHONDONTWRITEBYTECODE=1", "PYDEVD_DISABLE_FILE_VALIDATION=1"};
  if (NoWorkspaces().empty())
    init.env.push_back(std::string("CODE_INTERPRETER_WORKSPACE=") + kWorkspaceDir);
  const std::string spec_json = nlohmann::json(init).dump();

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return common::ErrnoFail("socketpair");
  }
  common::UniqueFd ours(pair[0]);
  common::UniqueFd theirs(pair[1]);

  // Prepared before clone: the child may only make raw system calls (the parent has threads).
  std::string fd_arg = std::to_string(theirs.Get());
  std::string exe_name = self_exe_;
  std::string command = "__sandbox-init";
  char* argv[] = {exe_name.data(), command.data(), fd_arg.data(), nullptr};
  char* envp[] = {nullptr};
  char empty[] = "";
  const int child_fd = theirs.Get();
  const int exe_fd = exe.Get();
  const int worker_fd = worker.Get();
  const int system_fd = system_path.empty() ? -1 : system.Get();

  int pidfd = -1;
  const long pid =
      ::syscall(SYS_clone, kNamespaces | CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, 0);
  if (pid == 0) {
    char go = 0;
    // Blocks until the gateway has moved us into the cgroups and written our id maps (or
    // is gone: then the read fails).
    if (::read(child_fd, &go, 1) != 1 || go != 'G') _exit(125);
    // Still the gateway's host uid: the worker directory can be looked up. A detached copy of
    // its mount, at the reserved number, for init to attach at /run/kernel.
    const long tree = ::syscall(SYS_open_tree, AT_FDCWD, worker_path.c_str(),
                                OPEN_TREE_CLONE | AT_SYMLINK_NOFOLLOW);
    if (tree < 0 || ::syscall(SYS_dup3, tree, worker_fd, 0) < 0) _exit(123);
    ::close(static_cast<int>(tree));
    // The environment's root, which init reaches through this descriptor: a directory above
    // it may be closed to init's uid.
    if (system_fd >= 0) {
      const long dir =
          ::syscall(SYS_openat, AT_FDCWD, system_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0 || ::syscall(SYS_dup3, dir, system_fd, 0) < 0) _exit(123);
      ::close(static_cast<int>(dir));
    }
    // Become the namespace's root: from here on no host privilege is left, only the
    // namespace's capabilities (an exec as an unmapped uid would drop even those).
    if (::syscall(SYS_setresgid, 0, 0, 0) != 0) _exit(124);
    ::syscall(SYS_setgroups, 0, nullptr);  // refused rootless (setgroups is denied there)
    if (::syscall(SYS_setresuid, 0, 0, 0) != 0) _exit(124);
    // A change of credentials clears the parent-death signal: set it now.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Nothing of the gateway's crosses the exec (its listening socket and client connections
    // are not close-on-exec): only the channel to the gateway, the worker directory and the
    // environment's root do.
    ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    ::fcntl(child_fd, F_SETFD, 0);
    ::fcntl(worker_fd, F_SETFD, 0);
    if (system_fd >= 0) ::fcntl(system_fd, F_SETFD, 0);
    ::syscall(SYS_execveat, exe_fd, empty, argv, envp, AT_EMPTY_PATH);
    _exit(127);
  }
  if (pid < 0) return common::ErrnoFail("clone(namespaces)");
  theirs.Reset();
  undo.Cancel();
  auto kernel = std::make_unique<NamespacedKernel>(
      static_cast<pid_t>(pid), common::UniqueFd(pidfd), std::move(ours), std::move(cgroup),
      spec.dir.string(), tmpfs_dir, ids.KernelHostUid(), limits_.data_bytes > 0, slot->release);
  const int channel = pair[0];  // owned by `kernel` now
  // From here on, a failure destroys `kernel`, which kills the child and removes everything.
  if (auto added = kernel->AddToCgroups(static_cast<pid_t>(pid)); !added)
    return std::unexpected(added.error());
  if (auto mapped = WriteIdMaps(static_cast<pid_t>(pid), ids); !mapped)
    return std::unexpected(mapped.error());
  // The floor under the kernel's oom_score_adj, written with the gateway's privileges.
  (void)MakeFirstOomVictim(static_cast<pid_t>(pid));
  if (::send(channel, "G", 1, MSG_NOSIGNAL) != 1 ||
      ::send(channel, spec_json.data(), spec_json.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(spec_json.size())) {
    return common::ErrnoFail("send(sandbox spec)");
  }
  if (auto ready = AwaitSetup(channel); !ready) return std::unexpected(ready.error());
  return kernel;
}

}  // namespace sandbox
