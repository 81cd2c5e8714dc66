// What a worker's cgroup says it used: CPU time of everything in it, and its peak memory,
// for the `usage` of each execution. Reads the cgroup files of the namespaces backend's own
// groups, or, for the docker backend, those the engine made for a container (found through
// /proc/<pid>/cgroup). Stateless apart from the paths; safe from any thread; each read is a
// few small file reads.
//
// cgroup v1: cpuacct.usage (ns) and memory.max_usage_in_bytes, which ResetPeak() resets by
// writing 0. cgroup v2: cpu.stat's usage_usec and memory.peak; memory.peak cannot be reset
// there on the kernels we target (per-descriptor reset came with 6.12), so on v2 the peak is
// the worker's since it started.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace sandbox {

struct ResourceUsage {
  std::uint64_t cpu_ns = 0;             // since the group was made
  std::uint64_t peak_memory_bytes = 0;  // since the last ResetPeak (v1) or the start (v2)
};

class UsageReader {
 public:
  UsageReader() = default;  // reads nothing
  // The files of a v1 memory group and cpuacct group (either may be empty), or of a v2 group.
  static UsageReader ForV1(const std::string& memory_dir, const std::string& cpuacct_dir);
  static UsageReader ForV2(const std::string& dir);
  // The groups `pid` is in, from /proc/<pid>/cgroup (for processes in groups we did not make).
  static UsageReader ForProcess(pid_t pid);

  // nullopt when neither number can be read.
  std::optional<ResourceUsage> Read() const;
  void ResetPeak() const;

 private:
  std::string cpu_file_;   // cpuacct.usage (v1) or cpu.stat (v2)
  std::string peak_file_;  // memory.max_usage_in_bytes (v1) or memory.peak (v2)
  bool v2_ = false;
};

}  // namespace sandbox
