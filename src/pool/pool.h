// Pool: owns the workers (one sandboxed kernel each) and the sessions (user -> worker).
//
// Keeps `min_idle` warm workers, assigns one to a new user at once and refills in the
// background, starts one on demand while under `max_workers`, reports kNoCapacity beyond.
// Runs each user's executions one at a time in arrival order, enforces timeouts
// (interrupt first, replace the kernel when the interrupt does not take), notices dead
// kernels at once (exit fd) and by heartbeat, reaps idle sessions.
//
// Two halves: the warm workers are a WorkerPool (worker_pool.h), from which this session
// table asks for a worker per user; PoolConfig (pool_config.h) sets both. The table itself
// (pool_impl.h) is implemented in pool.cc (sessions, their workers, ending and reaping them)
// and executions.cc (each session's queue, deadlines, interrupts and answers).
//
// Thread-safety: every method, and every callback it makes, runs on the thread that runs
// the io_context given at construction (one thread); no locks. Slow work (Launch, Kill,
// removing directories) goes to the blocking executor and reports back by posting.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "jupyter/execution.h"
#include "jupyter/kernel_hub.h"
#include "pool/pool_config.h"
#include "pool/sessions.h"
#include "sandbox/launcher.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace pool {

class Pool final : public Sessions {
 public:
  Pool(PoolConfig config, boost::asio::io_context& io, boost::asio::thread_pool& blocking,
       sandbox::Launcher& launcher, jupyter::KernelTransport& transport);
  ~Pool() override;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Sweeps leftovers in the runtime dir, starts warming workers and the periodic checks.
  void Start();
  // Answers every queued and running execution with kShuttingDown, destroys every worker
  // (kills go to the blocking executor: join it to wait for them) and stops timers.
  void Shutdown();

  void Execute(ExecuteCommand command, std::function<void(ExecuteOutcome)> done) override;
  bool Release(const std::string& user) override;
  void Abandon(std::uint64_t ticket) override;
  bool Interrupt(const std::string& user) override;
  PoolStatus Status() const override;
  SessionCreated CreateSession(const std::string& user, const SessionOptions& options,
                               std::string& detail) override;
  std::optional<SessionInfo> Describe(const std::string& user) const override;
  void OpenWorkspace(const std::string& user, const SessionOptions& options,
                     std::function<void(WorkspaceGrant)> done) override;
  void WorkspaceChanged(const std::string& user) override;

  // Ends sessions idle since before `now - idle_timeout`; runs periodically, public for tests.
  void ReapIdle(std::chrono::steady_clock::time_point now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pool
