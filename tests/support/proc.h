// The host's /proc as integration suites read it from outside the sandboxes: every process
// with its uid, parent and cgroups, and one process's fds, threads and memory. A process may
// exit between two reads: one that is gone reads as 0 (or is left out of a list), never as an
// error, since tests poll until the host settles.
// Thread-safe: only reads /proc.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace testing_support {

// The whole file, or "" when it cannot be read.
std::string ReadText(const std::filesystem::path& path);

// One process, from /proc/<pid>/status and /proc/<pid>/cgroup.
struct HostProcess {
  int pid = 0;
  int ppid = 0;
  unsigned uid = 0;  // the real uid
  std::string comm;  // "Name:" (at most 15 characters)
  bool zombie = false;
  // The v1 memory controller's path, e.g. "/code-interpreter/i-0123456789ab/w-3" or
  // "/docker/<id>"; "" on a host without one.
  std::string memory_cgroup;
  std::string unified_cgroup;  // the v2 ("0::") path; "" on a host without one

  // The memory controller's path, else the unified one.
  const std::string& Cgroup() const {
    return memory_cgroup.empty() ? unified_cgroup : memory_cgroup;
  }
};

// Every process on the host, zombies included.
std::vector<HostProcess> HostProcesses();

int CountFds(pid_t pid);      // entries of /proc/<pid>/fd; 0 when gone
int CountThreads(pid_t pid);  // "Threads:" of /proc/<pid>/status; 0 when gone
long RssKb(pid_t pid);        // "VmRSS:" in KiB; 0 when gone
int ParentOf(int pid);        // "PPid:"; 0 when gone
// Gone, or a zombie (an orphan waiting for a reaper that is not ours).
bool ProcessGone(int pid);
// What host uid `host_uid` is in the user namespace of `pid`, read from its uid_map (the
// namespaces backend maps its kernel to 1000, a remapping docker engine to host - start);
// nullopt when the map does not hold it or the process is gone.
std::optional<unsigned> UidInside(int pid, unsigned host_uid);

}  // namespace testing_support
