// WorkerPool: the warm half of a Pool for one environment: its workers, one sandboxed kernel
// each, all running that environment.
//
// Keeps `min_idle` workers warm (never more than the shared budget's `max_workers` in all
// the pools of a Pool together) and refills behind
// every worker that is assigned or destroyed. Hands a worker to whoever asks for one: an idle
// one at once, else the next one to become ready (requests are served oldest first), else a
// refusal that says why. A worker that fails to start makes the pool back off (0.25 s,
// doubling up to 30 s) before it starts another. Notices dead kernels at once (exit fd) and by
// heartbeat: a dead idle worker is replaced; a dead assigned one is reported through `on_lost`
// and destroyed. It knows a user only as the name a worker is assigned to: sessions and the
// executions run in them are Pool's (pool.h), which is the only caller.
//
// Thread-safety: every method, and every callback it makes, runs on the thread that runs
// the io_context given at construction (one thread); no locks. Slow work (Launch, Kill,
// removing directories) goes to the blocking executor and reports back by posting.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "common/metrics.h"
#include "common/result.h"
#include "jupyter/kernel_hub.h"
#include "pool/pool_config.h"
#include "sandbox/launcher.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace pool {

struct WorkerCounts {
  std::size_t total = 0;      // every live worker: starting, idle, assigned
  std::size_t starting = 0;   // launching, or waiting for its kernel to answer
  std::size_t idle = 0;       // warm and unassigned
  std::size_t busy = 0;       // assigned to a user, executing or not
  std::size_t executing = 0;  // assigned and running code right now
  bool initializing = false;  // since Start, until `min_idle` workers are warm or one fails
};

// What the warm pools of one Pool share: worker ids (unique across them, and the kernels' ids
// in the transport) and the cap on live workers. Owned by Pool, on the io thread.
struct WorkerBudget {
  std::size_t max_workers = 16;
  std::size_t live = 0;       // workers of every pool: starting, idle, assigned
  std::uint64_t next_id = 0;  // the last id given out
  // Called when a pool is full and wants a worker: destroys an idle worker of another pool,
  // true if it did. Set by Pool.
  std::function<bool()> reclaim_idle;
  // Called after a worker was destroyed: a pool held back by the cap may refill now.
  std::function<void()> on_freed;
  bool Full() const { return live >= max_workers; }
};

class WorkerPool {
 public:
  // A worker is named by its id, which is also its kernel's id in the transport. Ids start at
  // 1: 0 never names a worker.
  using WorkerId = std::uint64_t;
  // "w-<id>": the name in logs, paths, sandboxes and responses.
  static std::string NameOf(WorkerId id) { return "w-" + std::to_string(id); }
  // The answer to Request: the worker now assigned to the user, or why none will come (a
  // sentence for the user).
  using Grant = std::expected<WorkerId, std::string>;
  // An assigned worker's kernel died: it exited, or missed its heartbeat (not while executing).
  // `why` says how, e.g. "exited (exit code 1)". Called just before the worker is destroyed.
  using LostHandler =
      std::function<void(WorkerId id, const std::string& user, const std::string& why)>;

  WorkerPool(PoolConfig config, sandbox::Environment environment, std::size_t min_idle,
             WorkerBudget& budget, boost::asio::io_context& io, boost::asio::thread_pool& blocking,
             sandbox::Launcher& launcher, jupyter::KernelTransport& transport, LostHandler on_lost);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Removes worker directories an earlier gateway left in `runtime_dir` (before any pool
  // starts).
  static void SweepStale(const std::filesystem::path& runtime_dir);
  // Starts warming workers.
  void Start();
  // From now on no worker is started, not even to replace one that is destroyed. The first
  // step of shutting down, before the sessions give their workers back.
  void StopStarting();
  // Stops starting workers, drops the open requests unanswered and destroys every worker
  // (kills go to the blocking executor: join it to wait for them).
  void Shutdown();

  // Asks for a worker for `user`. An idle worker (one whose kernel is still alive) is assigned
  // at once; else the request waits for a worker that is starting, one being started for it
  // when none is spare and neither the cap nor the backoff forbids; else it is refused. `done`
  // is called once, with the assigned worker or the refusal, before Request returns unless the
  // request waits; a waiting request is refused when the worker it waits for fails to start.
  // A user has at most one open request.
  void Request(std::string user, std::function<void(Grant)> done);
  // Forgets the user's open request, if any: its `done` is not called.
  void CancelRequest(const std::string& user);

  // Forgets the worker now (the kill and the directory removal happen on the blocking
  // executor) and refills its slot, unless backing off or stopped. `why` goes to the log;
  // `on_lost` is not called. Unknown ids are ignored.
  void Destroy(WorkerId id, const std::string& why);
  // An assigned worker starts or stops running code; an executing kernel is not sent
  // heartbeats (it may be too busy to answer). Unknown ids are ignored.
  void SetExecuting(WorkerId id, bool executing);
  // If the worker's kernel has already exited but the exit has not been handled yet, handles
  // it now, as its exit watch would (for an assigned worker: `on_lost`, then Destroy). Unknown
  // ids are ignored.
  void NoticeExit(WorkerId id);
  // The worker's name for logs ("w-<id>"). `id` must name a live worker.
  const std::string& Name(WorkerId id) const;
  // The worker's sandbox, for blocking work on it (attaching a workspace); null when `id`
  // names no live worker. Shared: it outlives a Destroy that happens meanwhile.
  std::shared_ptr<sandbox::Sandbox> SandboxOf(WorkerId id) const;

  // Sends heartbeats to the idle workers and the assigned ones not executing, once every
  // `health_interval` (first at Start + health_interval) when called at or after that time; a
  // missed heartbeat is handled like an exit. Pool calls it every second.
  void CheckHealth(std::chrono::steady_clock::time_point now);

  WorkerCounts Counts() const;
  const sandbox::Environment& Environment() const { return environment_; }
  std::size_t MinIdle() const { return min_idle_; }
  // Destroys one idle worker, if there is one (another pool needs the room); true if it did.
  bool ReclaimIdle();
  // Starts workers while fewer than `min_idle` are idle or starting for no one, within the
  // budget and unless backing off or stopped.
  void TopUp();

 private:
  enum class State { kStarting, kIdle, kAssigned, kExecuting };
  struct Worker;
  struct Waiter {
    std::string user;
    std::function<void(Grant)> done;
  };
  using Launched =
      common::Result<std::pair<std::shared_ptr<sandbox::Sandbox>, jupyter::ConnectionInfo>>;

  Worker* Find(WorkerId id);
  // Destroy without refilling; false for an unknown id.
  bool Forget(WorkerId id, const std::string& why);
  std::size_t CountStarting() const;

  void StartWorker();
  Launched Launch(const sandbox::WorkerSpec& base);  // runs on the blocking executor
  void OnLaunched(WorkerId id, Launched launched);
  void WatchExit(Worker& worker);
  void OnReady(WorkerId id, common::Result<void> ready);
  void HandOut(WorkerId id);
  void Assign(WorkerId id, const std::string& user, std::function<void(Grant)> done);
  void OnStartFailed(WorkerId id, const std::string& reason, bool add_status = true);
  void OnWorkerExit(WorkerId id);
  void OnWorkerDead(WorkerId id, const std::string& why);

  const PoolConfig config_;
  const sandbox::Environment environment_;
  const std::size_t min_idle_;
  WorkerBudget& budget_;
  boost::asio::io_context& io_;
  boost::asio::thread_pool& blocking_;
  sandbox::Launcher& launcher_;
  jupyter::KernelTransport& transport_;
  const LostHandler on_lost_;
  // This environment's metrics, registered (at zero) when the pool is made.
  struct Metrics {
    common::metrics::Histogram& start_seconds;
    common::metrics::Counter& start_failures;
    common::metrics::Counter& oom_kills;
  };
  const Metrics metrics_;

  std::map<WorkerId, std::unique_ptr<Worker>> workers_;
  std::deque<WorkerId> idle_;
  std::deque<Waiter> waiters_;  // requests waiting for a starting worker, oldest first
  bool initializing_ = false;
  bool stopped_ = false;
  int start_failures_ = 0;  // in a row
  bool backing_off_ = false;
  std::string last_start_error_;
  boost::asio::steady_timer retry_timer_;
  std::chrono::steady_clock::time_point next_health_;
};

}  // namespace pool
