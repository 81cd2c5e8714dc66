// Resource limits of one sandboxed worker, set per server (`serve --memory ...`).
#pragma once

#include <cstdint>

namespace sandbox {

struct Limits {
  std::uint64_t memory_bytes = 1ull << 30;     // cgroup memory limit (swap included / forbidden)
  std::uint64_t pids = 256;                    // cgroup pids.max
  double cpus = 1.0;                           // CPU quota in cores (cfs quota / cpu.max)
  std::uint64_t tmp_bytes = 256ull << 20;      // size of the writable /tmp and of /dev/shm (tmpfs)
  std::uint64_t home_bytes = 256ull << 20;     // size of the writable home directory (tmpfs)
  std::uint64_t file_size_bytes = 1ull << 30;  // RLIMIT_FSIZE
  // RLIMIT_DATA of the kernel (its private writable memory, the heap included): set below the
  // memory limit so that a cell allocating too much gets MemoryError while the cgroup still
  // has room, instead of the OOM killer taking the kernel and the session's state. 0: none.
  std::uint64_t data_bytes = 0;
  // The hard limits of RLIMIT_DATA and RLIMIT_NPROC (data_bytes and pids are the soft ones):
  // the server's caps, so that a session allowed more than the defaults can have its kernel's
  // soft limits raised up to them in place (Sandbox::AdjustLimits). The kernel may raise its
  // own soft limits that far too; the cgroup's limits are the ones that hold. 0: the soft one.
  std::uint64_t data_max_bytes = 0;
  std::uint64_t pids_max = 0;
  std::uint64_t open_files = 1024;  // RLIMIT_NOFILE
  // Pseudo-terminals open at once (a private devpts instance's max=): the host's
  // kernel.pty.max is shared by everyone. `!cmd` in a notebook takes one while it runs.
  std::uint64_t ptys = 16;
};

// What a session chooses of its worker's limits (the rest is the server's, for every worker).
struct ResourceLimits {
  std::uint64_t memory_bytes = 1ull << 30;
  double cpus = 1.0;
  std::uint64_t pids = 256;
  bool operator==(const ResourceLimits&) const = default;
};

inline ResourceLimits ResourcesOf(const Limits& limits) {
  return {.memory_bytes = limits.memory_bytes, .cpus = limits.cpus, .pids = limits.pids};
}

// The data limit for a memory limit: what the cgroup also has to hold besides the kernel's
// private memory (its files' pages, /tmp and workspace writes, children) is kept free.
inline std::uint64_t DataLimitFor(std::uint64_t memory_bytes) {
  const std::uint64_t reserve = memory_bytes / 8 > (64ull << 20) ? memory_bytes / 8 : 64ull << 20;
  return memory_bytes > 2 * reserve ? memory_bytes - reserve : memory_bytes / 2;
}

}  // namespace sandbox
