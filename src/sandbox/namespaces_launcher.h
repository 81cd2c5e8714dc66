// NamespacesLauncher ("--sandbox=namespaces", the default): each kernel in a user namespace
// of its own (user_ns.h) that owns its new pid, mount, network, ipc, uts and cgroup
// namespaces, inside memory/pids/cpu cgroups, on a read-only root with private /tmp and
// home, with no capabilities, no-new-privileges and a seccomp filter.
//
// Sequence: the gateway creates the cgroups, then clones a child into the new namespaces;
// the child waits on a socketpair until the gateway has put it into the cgroups and written
// its uid and gid maps, becomes the namespace's root (an unprivileged host uid), then execs
// `code-interpreter __sandbox-init` (a fresh, single-threaded process image), which builds
// the filesystem and starts the kernel (see init.cc). No code runs unconfined, and nothing
// in the sandbox runs as a host uid that means anything.
//
// As root: per-slot host uids and cgroups. Rootless (an ordinary user, unprivileged user
// namespaces): the sandbox's ids map to the gateway's own, and the cgroup limits hold only
// where the user can write a cgroup hierarchy; CheckHost() says which limits cannot be
// enforced. Thread-safe: Launch() may run on several threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sandbox/launcher.h"
#include "sandbox/limits.h"
#include "sandbox/uid_slots.h"

namespace sandbox {

// What this host lets the launcher do.
struct NamespacesHost {
  bool privileged = false;  // root: per-slot host uids, worker directories on tmpfs
  bool cgroups = false;     // memory, pids and cpu limits through cgroups
  std::string no_cgroups;   // why not, when !cgroups
  // Limits that cannot be enforced, for the operator ("memory (--memory)", ...); processes
  // are still capped per sandbox by RLIMIT_NPROC, counted per user namespace.
  std::vector<std::string> Unenforced() const;
};

class NamespacesLauncher final : public Launcher {
 public:
  // Refuses (with the reason) when this host cannot isolate kernels at all.
  static common::Result<NamespacesHost> CheckHost();

  // `scope` names this gateway instance's cgroups (ScopeFor(runtime dir)); groups of that
  // scope left by an earlier run are swept here. `init_exe` is the code-interpreter binary
  // that runs `__sandbox-init`; empty means this process's own executable.
  NamespacesLauncher(Limits limits, std::string scope, NamespacesHost host,
                     std::string init_exe = {}, WorkspaceLimits workspace_limits = {});
  ~NamespacesLauncher() override;  // removes the instance's (by then empty) cgroup scope

  // A short stable name for the instance that owns `runtime_dir` ("i-<12 hex>").
  static std::string ScopeFor(const std::string& runtime_dir);
  std::string Name() const override { return "namespaces"; }
  common::Result<std::unique_ptr<Sandbox>> Launch(const WorkerSpec& spec) override;
  // A tmpfs of `workspace_limits` (privileged; see NoWorkspaces()).
  common::Result<std::shared_ptr<HostWorkspace>> CreateWorkspace(const std::filesystem::path& path,
                                                                 std::uint64_t bytes) override;
  std::string NoWorkspaces() const override;

 private:
  Limits limits_;
  WorkspaceLimits workspace_limits_;
  std::string scope_;
  NamespacesHost host_;
  std::string self_exe_;
  UidSlots uids_;  // kernels run as uids of their own
};

}  // namespace sandbox
