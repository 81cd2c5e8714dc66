// NamespacesLauncher ("--sandbox=namespaces", the default): each kernel in new pid, mount,
// network, ipc, uts and cgroup namespaces, inside memory/pids/cpu cgroups, on a read-only
// root with private /tmp and home, as an unprivileged uid of its own, with no capabilities,
// no-new-privileges and a seccomp filter.
//
// Sequence: the gateway creates the cgroups, then clones a child into the new namespaces;
// the child waits on a socketpair until the gateway has put it into the cgroups, then execs
// `code-interpreter __sandbox-init` (a fresh, single-threaded process image), which builds
// the filesystem and starts the kernel (see init.cc). No code runs unconfined.
//
// Requires root (or the equivalent capabilities) and cgroups; CheckHost() says what is
// missing. Thread-safe: Launch() may run on several threads.
#pragma once

#include <memory>
#include <string>

#include "sandbox/launcher.h"
#include "sandbox/limits.h"
#include "sandbox/uid_slots.h"

namespace sandbox {

class NamespacesLauncher final : public Launcher {
 public:
  // Refuses (with the reason) when this host cannot isolate kernels.
  static common::Result<void> CheckHost();

  // `scope` names this gateway instance's cgroups (ScopeFor(runtime dir)); groups of that
  // scope left by an earlier run are swept here. `init_exe` is the code-interpreter binary
  // that runs `__sandbox-init`; empty means this process's own executable.
  NamespacesLauncher(Limits limits, std::string scope, std::string init_exe = {});
  ~NamespacesLauncher() override;  // removes the instance's (by then empty) cgroup scope

  // A short stable name for the instance that owns `runtime_dir` ("i-<12 hex>").
  static std::string ScopeFor(const std::string& runtime_dir);
  std::string Name() const override { return "namespaces"; }
  common::Result<std::unique_ptr<Sandbox>> Launch(const WorkerSpec& spec) override;

 private:
  Limits limits_;
  std::string scope_;
  std::string self_exe_;
  UidSlots uids_;  // kernels run as uids of their own
};

}  // namespace sandbox
