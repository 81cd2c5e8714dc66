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
  std::uint64_t open_files = 1024;             // RLIMIT_NOFILE
  // Pseudo-terminals open at once (a private devpts instance's max=): the host's
  // kernel.pty.max is shared by everyone. `!cmd` in a notebook takes one while it runs.
  std::uint64_t ptys = 16;
};

}  // namespace sandbox
