// The warm pool shared by the throughput and capacity scenarios: starting 64 sandboxed
// kernels takes a minute or more on two cores, so it is done once per run.
#include <memory>

#include "gateway.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

std::unique_ptr<Gateway> pool;
double warm_seconds = 0;
std::vector<std::string> sessions;

}  // namespace

int PoolWorkers(const RunConfig& config) { return config.quick ? 8 : 64; }

int PoolQueueLimit(const RunConfig& config) {
  return (kCapacityRequests + PoolWorkers(config) - 1) / PoolWorkers(config);
}

Gateway* SharedPool(const RunConfig& config) {
  if (pool) return pool.get();
  const int workers = PoolWorkers(config);
  Progress("pool: starting %d workers (%s)", workers, config.backends.front().c_str());
  const auto start = Clock::now();
  pool = std::make_unique<Gateway>(
      config.backends.front(),
      std::vector<std::string>{"--min-idle", std::to_string(workers), "--max-workers",
                               std::to_string(workers), "--queue-limit",
                               std::to_string(PoolQueueLimit(config)),
                               // 1,000 open requests from loopback (capacity scenario)
                               "--max-connections", "2048", "--max-connections-per-ip", "0"});
  if (!pool->ok() || !pool->WaitIdle(workers, 600)) {
    pool.reset();
    return nullptr;
  }
  warm_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return pool.get();
}

double SharedPoolWarmSeconds() { return warm_seconds; }

std::vector<std::string>& SharedPoolSessions() { return sessions; }

void ReleaseSharedPool() {
  pool.reset();
  sessions.clear();
}

}  // namespace bench
