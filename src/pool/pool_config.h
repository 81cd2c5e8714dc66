// PoolConfig: the limits and timings of a Pool, shared by its two halves (the warm worker
// pool, WorkerPool, and the session table, Pool). A plain value: copied at construction,
// never changed afterwards, so it needs no thread rule of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "jupyter/execution.h"
#include "pool/session_limits.h"
#include "sandbox/environment.h"

namespace pool {

// One environment the pool serves, with its own warm pool.
struct EnvironmentConfig {
  sandbox::Environment environment;
  std::size_t min_idle = 0;
};

struct PoolConfig {
  // The environments served; the first is the default. Empty: the host's own ("host"), with
  // `min_idle` warm workers.
  std::vector<EnvironmentConfig> environments;
  std::size_t min_idle = 2;
  std::size_t max_workers = 16;
  std::chrono::milliseconds idle_timeout{3600 * 1000};
  // A session's limits unless it asks for others, and the most it may ask for. Warm workers
  // start with `limits` (the launcher is configured with the same values); a session with
  // other memory, CPU or process limits has its worker adjusted when it gets it.
  SessionLimits limits;
  SessionLimits limit_caps;
  std::chrono::milliseconds interrupt_grace{3000};
  std::chrono::milliseconds start_timeout{60 * 1000};
  std::chrono::milliseconds health_interval{30 * 1000};
  std::size_t queue_limit = 16;
  jupyter::OutputLimits output_limits;
  std::filesystem::path runtime_dir;
  std::string python = "/usr/bin/python3";
  int retry_after_seconds = 5;
  // Per execution, the workspace changes listed (the rest counted), and the snapshots'
  // bounds.
  std::size_t max_file_changes = 1000;
  std::size_t snapshot_max_entries = 100000;
};

}  // namespace pool
