// The inside of Pool (pool.h), shared by the two files that implement it: pool.cc (the
// session table: creating, finding and ending sessions, their workers, reaping, the public
// methods) and executions.cc (running a session's queue: one execution at a time, its
// deadline, interrupts, and the answer). Private to src/pool; the thread rule is Pool's:
// everything here runs on the io thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "pool/outcomes.h"
#include "pool/pool.h"
#include "pool/session_workspace.h"
#include "pool/worker_pool.h"

namespace pool {

using Clock = std::chrono::steady_clock;

struct Job {
  ExecuteCommand command;
  std::function<void(ExecuteOutcome)> done;
};

// The execution a session is running.
struct Running {
  std::uint64_t exec_id = 0;
  Job job;
  Clock::time_point started;
  std::chrono::milliseconds timeout{0};
  std::unique_ptr<boost::asio::steady_timer> timer;
  Interruption interruption = Interruption::kNone;  // why an interrupt was sent, if one was
  bool killed_after_interrupt = false;  // the interrupt did not take; the worker is being destroyed
  std::string died;                     // set when the kernel died during this execution
  std::optional<sandbox::ResourceUsage> usage_before;  // the worker's, as the execution started
};

struct Session {
  std::string user;
  std::string environment;  // a key of Pool::Impl::pools
  SessionLimits limits;
  std::uint64_t serial = 0;  // tells this session from a later one of the same user
  std::uint64_t worker = 0;  // 0: none yet, or lost
  // The worker that has the session's limits (its own, or adjusted to them), and whether an
  // adjustment runs.
  std::uint64_t limited_worker = 0;
  bool adjusting = false;
  bool waiting = false;  // a worker is requested from the WorkerPool and not yet granted
  std::deque<Job> queue;
  std::optional<Running> running;
  Clock::time_point last_active;
  std::string lost_notice;                      // an unreported loss of state
  std::unique_ptr<SessionWorkspace> workspace;  // null when the backend gives none
  // Its workspace may hold files (a worker or a file call had it): the session stays, even
  // without a worker, until released or reaped.
  bool holds_files = false;
  Clock::time_point created;
  std::uint64_t executions = 0;  // answered
  double cpu_ms = 0;             // summed usage of its executions
  double peak_memory_mb = 0;
};

struct Pool::Impl {
  PoolConfig config;
  boost::asio::io_context& io;
  sandbox::Launcher& launcher;
  jupyter::KernelTransport& transport;
  boost::asio::thread_pool& blocking;
  WorkerBudget budget;
  // One warm pool per environment, by name; the first environment configured is the default.
  std::map<std::string, std::unique_ptr<WorkerPool>> pools;
  std::string default_environment;

  std::unordered_map<std::string, Session> sessions;
  std::uint64_t next_exec_id = 0;
  std::uint64_t next_serial = 0;
  bool shutting_down = false;
  boost::asio::steady_timer tick_timer;

  Impl(PoolConfig c, boost::asio::io_context& io_, boost::asio::thread_pool& b,
       sandbox::Launcher& l, jupyter::KernelTransport& t);

  // ---- the session table (pool.cc) ----
  Session* FindSession(const std::string& user);
  WorkerPool& PoolOf(const Session& session) { return *pools.at(session.environment); }
  // What `options` name, resolved: the environment ("" -> the default) and the limits (over
  // the defaults); an error for the user (an unknown environment: it lists the known ones).
  struct Resolved {
    std::string environment;
    SessionLimits limits;
  };
  common::Result<Resolved> Resolve(const SessionOptions& options) const;
  // Why the existing `session` does not fit what `options` name; empty when it does.
  static std::string Mismatch(const Session& session, const SessionOptions& options,
                              const Resolved& resolved);
  // The user's session, created with `resolved` (with its workspace, where the backend gives
  // one) if new.
  Session& SessionFor(const std::string& user, const Resolved& resolved);
  void AcquireWorker(Session& session);
  void OnGrant(const std::string& user, WorkerPool::Grant grant);
  // The WorkerPool destroys the worker right after this.
  void OnWorkerLost(const std::string& user, const std::string& why);
  // Said wherever a lost kernel is reported: its variables are gone, the workspace is not.
  static std::string FilesKept(const Session& session);
  void FailQueue(Session& session, const ExecuteOutcome& outcome);
  void EraseIfEmpty(const std::string& user);
  // Answers everything of the session with `outcome` and destroys its worker.
  void EndSession(const std::string& user, const ExecuteOutcome& outcome, const std::string& why);
  void ScheduleTick();
  void ReapIdle(Clock::time_point now);

  // ---- executions (executions.cc) ----
  // Starts the next queued execution if the session is free. May erase the session.
  void Pump(Session& session);
  // Whether the session's worker has its limits; when not, starts adjusting it (Pump follows).
  bool LimitsApplied(Session& session);
  void OnAdjusted(const std::string& user, std::uint64_t serial, std::uint64_t worker,
                  common::Result<void> adjusted);
  Session* FindRunning(const std::string& user, std::uint64_t exec_id);
  void OnDeadline(const std::string& user, std::uint64_t exec_id);
  // Interrupts the running execution for `why` (counted); if it has not stopped after the
  // grace period, the kernel is replaced (OnGraceExpired).
  void InterruptWithGrace(Session& session, Interruption why);
  void OnGraceExpired(const std::string& user, std::uint64_t exec_id);
  void OnExecuted(const std::string& user, std::uint64_t exec_id, jupyter::ExecutionResult result);
  // The workspace could not be made ready: the queue is answered with why; a worker it could
  // not be attached to is replaced.
  void FailForWorkspace(Session& session, const SessionWorkspace::Failure& failure);
  // Pool::Abandon: drops the queued execution with this ticket or interrupts the running one.
  void Abandon(std::uint64_t ticket);
  bool Interrupt(const std::string& user);
};

}  // namespace pool
