// What the benchmarks read about processes from /proc (CPU time, memory, threads, fds, the
// process tree), and a sampler thread that watches one process while a scenario runs.
// Functions are stateless and thread-safe; a process that vanished reads as zero.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench {

// utime + stime of every thread of `pid`, seconds.
double CpuSeconds(pid_t pid);
// Sum of CpuSeconds over `pids`.
double CpuSeconds(const std::vector<pid_t>& pids);

// Every live descendant of `root` (not `root` itself), from one scan of /proc.
std::vector<pid_t> Descendants(pid_t root);
// `root` followed by its descendants.
std::vector<pid_t> Tree(pid_t root);
// Direct children of `parent`.
std::vector<pid_t> Children(pid_t parent);
pid_t ParentOf(pid_t pid);

struct Memory {
  double rss_mb = 0;  // resident set
  double pss_mb = 0;  // proportional set: shared pages divided among their users
};
// From /proc/<pid>/smaps_rollup, summed over `pids`.
Memory MemoryOf(const std::vector<pid_t>& pids);
// VmRSS from /proc/<pid>/status, MiB (cheap enough to sample often).
double RssMb(pid_t pid);
int Threads(pid_t pid);
int OpenFds(pid_t pid);

// Samples RSS, threads and fds of one process every `interval` on a thread of its own, from
// construction until Stop() (or destruction).
class Sampler {
 public:
  struct Sample {
    double t_ms;
    double rss_mb;
    int threads;
    int fds;
  };

  Sampler(pid_t pid, std::chrono::milliseconds interval);
  ~Sampler();
  std::vector<Sample> Stop();
  // The samples so far (copy).
  std::vector<Sample> Samples();

 private:
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Sample> samples_;
  std::thread thread_;
};

// Output of a shell command (for `docker` and `lscpu`); "" on failure.
std::string Shell(const std::string& command);

// Host pids of the init process of every container carrying the docker backend's instance
// label `instance`.
std::vector<pid_t> DockerInitPids(const std::string& instance);

}  // namespace bench
