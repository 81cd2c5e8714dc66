// Cgroup: the resource-control group of one worker, on cgroup v2 when the unified hierarchy
// has the controllers, else on the v1 memory, pids and cpu hierarchies. Created by the
// gateway before the worker runs any code; Kill() SIGKILLs every process in it and
// Remove() deletes it. Not thread-safe; each worker's Cgroup is used by one thread at a time.
//
// As root the groups live at the top of each hierarchy. An ordinary user (rootless mode)
// gets them only on cgroup v2, in the group the gateway was started in when that group is
// delegated to the user (writable, with memory and pids): CheckHost() then moves the gateway
// into a leaf `gateway` of it and enables the controllers for its children, so the workers'
// groups are the gateway's siblings, within whatever limits the delegating parent sets.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/cgroup_usage.h"
#include "sandbox/limits.h"

namespace sandbox {

class Cgroup {
 public:
  // Which hierarchies this host offers; an error says why the limits cannot be set up.
  // Delegated (rootless, v2): moves this process into its leaf (see above). Call once.
  static common::Result<void> CheckHost();
  // Creates "code-interpreter/<scope>/<name>" in each hierarchy and applies `limits`. The
  // scope belongs to one gateway instance (one runtime dir), so instances never touch each
  // other's groups.
  static common::Result<std::unique_ptr<Cgroup>> Create(const std::string& scope,
                                                        const std::string& name,
                                                        const Limits& limits);
  // Kills and removes every group of `scope` left by an earlier run; returns their paths.
  static std::vector<std::string> SweepStale(const std::string& scope);
  // Removes the (empty) scope directories themselves, at shutdown.
  static void RemoveScope(const std::string& scope);

  ~Cgroup();  // Kill() + Remove()
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  // Moves `pid` into the group (every hierarchy).
  common::Result<void> AddProcess(pid_t pid);
  // Sets the group's memory, pids and CPU limits (as Create did), e.g. for the session a
  // warm worker is handed to. Lowering memory below what the group uses fails (v1: after
  // the kernel tried to reclaim it).
  common::Result<void> Update(const ResourceLimits& limits);
  // SIGKILLs every process in the group, until none is left (bounded).
  void Kill();
  // Removes the group directories (after Kill); idempotent.
  void Remove();
  // True when the memory controller killed a process for running out of memory.
  bool OomKilled() const;
  // CPU time and peak memory of the group (cgroup_usage.h).
  const UsageReader& Usage() const { return usage_; }

 private:
  Cgroup(std::vector<std::string> dirs, bool v2, bool has_cpu, UsageReader usage)
      : dirs_(std::move(dirs)), v2_(v2), has_cpu_(has_cpu), usage_(std::move(usage)) {}

  std::vector<std::string> dirs_;  // one per hierarchy; dirs_[0] holds memory
  bool v2_;
  bool has_cpu_;
  UsageReader usage_;
};

}  // namespace sandbox
