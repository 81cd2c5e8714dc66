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
#include <mutex>
#include <set>
#include <string>

#include "sandbox/launcher.h"
#include "sandbox/limits.h"

namespace sandbox {

class NamespacesLauncher final : public Launcher {
 public:
  // Refuses (with the reason) when this host cannot isolate kernels.
  static common::Result<void> CheckHost();

  explicit NamespacesLauncher(Limits limits);
  std::string Name() const override { return "namespaces"; }
  common::Result<std::unique_ptr<Sandbox>> Launch(const WorkerSpec& spec) override;

  // First uid of the range used for kernels; slot n runs as kUidBase + n.
  static constexpr unsigned kUidBase = 61000;

 private:
  struct Slots {
    std::mutex mu;
    std::set<unsigned> used;  // guarded by mu
  };

  Limits limits_;
  std::string self_exe_;
  std::shared_ptr<Slots> slots_ = std::make_shared<Slots>();
};

}  // namespace sandbox
