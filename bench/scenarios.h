// The scenarios of run_all. Each starts its own gateway(s) on loopback, measures, stops them,
// and returns one Section of the report. Run them one at a time from the main thread.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "report.h"

namespace bench {

struct RunConfig {
  bool quick = false;
  double scale = 1.0;                 // multiplies every request count
  std::vector<std::string> backends;  // usable backends, default first
  int cores = 1;
  double capacity_hold_s = 12;  // capacity: clients hang up after this; 0 = wait for all

  // A request count: `full` normally, `quick` with --quick, times --scale, at least 1.
  int Count(int full, int quick_count) const {
    const double n = (this->quick ? quick_count : full) * scale;
    return n < 1 ? 1 : static_cast<int>(std::lround(n));
  }
  bool Has(const std::string& backend) const {
    for (const auto& b : backends)
      if (b == backend) return true;
    return false;
  }
};

// `1+1` through the gateway next to a direct ZeroMQ client on an identically configured
// kernel, per backend (none, namespaces).
Section RunLatency(const RunConfig& config);
// Kernel start and direct `1+1` per backend, next to a plain process (none).
Section RunSandbox(const RunConfig& config);
// N users x M stateful requests: requests/s and latency next to the kernel-bound ceiling.
Section RunThroughput(const RunConfig& config);
// First request of a new user (warm pool, cold pool) next to a later request of the same user.
Section RunAcquisition(const RunConfig& config);
// time.sleep(10) with timeout 1: deadline to response, and the state kept.
Section RunInterrupt(const RunConfig& config);
// 1,000 concurrent open executions: how they were handled, gateway RSS/threads/fds.
Section RunCapacity(const RunConfig& config);
// Memory per idle worker (RSS and PSS of the sandbox's processes), per backend.
Section RunMemory(const RunConfig& config);
// A cell printing 50 MB: bytes/s through the gateway next to direct ZeroMQ, gateway RSS.
Section RunStreaming(const RunConfig& config);
// A print in the kernel to a client streaming the execution, next to the plain round trip.
Section RunEvents(const RunConfig& config);
// A large file into and out of a workspace next to cp, gateway RSS; the change list's cost.
Section RunFiles(const RunConfig& config);

class Gateway;
// The warm pool that throughput and capacity share, started by whichever runs first and
// kept until ReleaseSharedPool(): `serve --min-idle W --max-workers W --queue-limit Q` on
// the default backend. Null when it did not become warm.
Gateway* SharedPool(const RunConfig& config);
int PoolWorkers(const RunConfig& config);
// --queue-limit of the shared pool: enough for the capacity scenario's requests to queue.
int PoolQueueLimit(const RunConfig& config);
inline constexpr int kCapacityRequests = 1000;
double SharedPoolWarmSeconds();  // how long it took to become warm
// Users that hold a session (a worker) on the shared pool.
std::vector<std::string>& SharedPoolSessions();
void ReleaseSharedPool();

// Prints a progress line to stderr, with the seconds since the run started.
void Progress(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Load average (1, 5, 15 min) as "a b c".
std::string LoadAverage();

}  // namespace bench
