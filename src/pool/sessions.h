// The gateway's view of the pool: run code for a user, reach a user's workspace, release a
// user, report counts.
// The gateway's router depends only on this interface (unit tests give it a fake); Pool
// implements it. All methods are called on the io thread, and `done` callbacks run there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jupyter/execution.h"
#include "pool/session_limits.h"
#include "sandbox/host_workspace.h"
#include "workspace/snapshot.h"

namespace pool {

// How a session is set up: chosen when it is created (POST /sessions, or the first /execute
// or file call) and kept for its life, through kernel replacements.
struct SessionOptions {
  std::string environment{};  // empty: the server's default (or, for a session that exists,
                              // whatever it runs)
  RequestedLimits limits{};   // empty: the server's defaults (or the existing session's)
};

struct ExecuteCommand {
  std::string user;
  SessionOptions session{};  // used if this creates the session; else must agree with it
  std::string code;
  std::optional<std::chrono::milliseconds> timeout;  // default when absent
  std::uint64_t ticket = 0;  // the request's id, for Abandon(); 0: cannot be abandoned
  std::string id{};          // the API's execution_id ("ex-..."), for the logs; may be empty
  // Called on the io thread when the code goes to the kernel, with the worker's id ("w-3"),
  // and then with each event of its output (jupyter/events.h), in order; all before `done`,
  // which still carries the whole result. Either may be empty; neither may call the pool.
  std::function<void(const std::string& worker_id)> on_start{};
  jupyter::EventSink on_event{};
};

enum class Outcome {
  kCompleted,     // the kernel replied (status ok or error: see result.status)
  kTimedOut,      // the deadline passed; state_preserved says whether the interrupt worked
  kKernelDied,    // the kernel process exited during the execution; state lost
  kNoCapacity,    // no idle worker and max_workers reached (or a worker failed to start)
  kQueueFull,     // the user already has too many executions queued
  kReleased,      // the session was released while this execution waited or ran
  kShuttingDown,  // the service is stopping
  kAbandoned,     // the client went away; a running execution was interrupted
  kInvalid,       // the request names what the server does not have (an unknown environment)
                  // or allows (limits above its caps, a timeout above the session's maximum)
  kConflict,      // the session exists with other options than the request names
  kInterrupted,   // interrupted on request (Sessions::Interrupt); state_preserved says whether
                  // the interrupt took
};

struct ExecuteOutcome {
  Outcome outcome = Outcome::kCompleted;
  jupyter::ExecutionResult result;
  // False when the session's earlier state (variables, imports) is gone: the kernel was
  // replaced during this request, or before it without having been reported yet.
  bool state_preserved = true;
  std::string detail;     // human-readable reason for anything but kCompleted
  std::string notice;     // set when an earlier loss of state is reported with this response
  std::string worker_id;  // the worker that ran it ("w-3"), when one did
  std::chrono::milliseconds duration{0};  // time spent executing (not queued)
  std::chrono::milliseconds timeout{0};   // the timeout that applied
  int retry_after_seconds = 0;            // for kNoCapacity / kQueueFull / kShuttingDown
  // What the execution created, modified or deleted in the session's workspace; absent when
  // the session has none (the backend gives none) or the execution did not run.
  std::optional<workspace::ChangeList> files;
  // What the execution used, from the worker's cgroup; absent where the backend cannot tell.
  struct Usage {
    double cpu_ms = 0;          // CPU time of everything in the sandbox during the execution
    double peak_memory_mb = 0;  // the sandbox's peak memory during it (MiB)
  };
  std::optional<Usage> usage;
};

enum class WorkspaceRefusal {
  kNone,
  kUnavailable,   // this backend, as configured, gives sessions no workspace
  kFailed,        // the workspace could not be created
  kShuttingDown,  // the service is stopping
  kInvalid,       // the call names an environment or limits the server does not have or allow
  kConflict,      // the session exists with other options than the call names
};

struct WorkspaceGrant {
  std::shared_ptr<sandbox::HostWorkspace> workspace;  // set unless refused; keep it while in use
  WorkspaceRefusal refusal = WorkspaceRefusal::kNone;
  std::string detail;  // why, when refused
  int retry_after_seconds = 0;
};

// One environment's warm pool.
struct EnvironmentStatus {
  std::string name;
  std::size_t min_idle = 0;
  std::size_t total_workers = 0;
  std::size_t idle_workers = 0;
  std::size_t busy_workers = 0;
  std::size_t starting_workers = 0;
  std::size_t sessions = 0;
};

struct PoolStatus {
  std::size_t total_workers = 0;         // every live worker: starting, idle, assigned
  std::size_t busy_workers = 0;          // assigned to a user
  std::size_t idle_workers_in_pool = 0;  // warm and unassigned
  std::size_t executing_workers = 0;     // running code right now
  std::size_t starting_workers = 0;
  std::size_t sessions = 0;
  std::size_t max_workers = 0;
  std::size_t min_idle_workers = 0;
  bool is_initializing = false;
  std::string sandbox;
  std::string default_environment{};
  std::vector<EnvironmentStatus> environments{};
};

// A session as GET /sessions/{user} shows it.
struct SessionInfo {
  std::string user;
  std::string environment;
  SessionLimits limits{};
  std::chrono::steady_clock::duration age{};   // since it was created
  std::chrono::steady_clock::duration idle{};  // since its last execution or file call
  bool has_worker = false;
  bool executing = false;
  std::size_t queued = 0;
  std::uint64_t executions = 0;  // answered so far
  double cpu_ms = 0;             // summed over its executions' usage
  double peak_memory_mb = 0;     // the highest of its executions' peaks
};

enum class SessionCreated { kCreated, kExists, kInvalid, kShuttingDown };

class Sessions {
 public:
  virtual ~Sessions() = default;
  virtual void Execute(ExecuteCommand command, std::function<void(ExecuteOutcome)> done) = 0;
  // Destroys the user's worker at once; true when the user had a session.
  virtual bool Release(const std::string& user) = 0;
  // The client of the execution with this ticket went away: a queued execution is dropped, a
  // running one is interrupted (and its kernel replaced if the interrupt does not take, as on
  // a timeout), so that nobody's kernel stays busy for an answer no one will read. `done`
  // is still called once. Unknown tickets are ignored.
  virtual void Abandon(std::uint64_t /*ticket*/) {}
  // Interrupts the user's running execution on request, with a timeout's rules: the kernel
  // gets an interrupt and --interrupt-grace to stop, else it is replaced (state lost). The
  // execution answers kInterrupted; executions queued behind it run after it. False when the
  // user has no execution running (an interrupt already under way counts as running).
  virtual bool Interrupt(const std::string& /*user*/) { return false; }
  virtual PoolStatus Status() const = 0;
  // Creates the user's session with `options` (its workspace too; its first execution takes a
  // worker). kExists leaves an existing session as it is; kInvalid: an unknown environment
  // (`detail` lists the known ones) or limits the server does not allow (`detail` names the
  // bound).
  virtual SessionCreated CreateSession(const std::string& /*user*/,
                                       const SessionOptions& /*options*/, std::string& detail) {
    detail = "Sessions cannot be created explicitly here";
    return SessionCreated::kInvalid;
  }
  // The user's session, if there is one.
  virtual std::optional<SessionInfo> Describe(const std::string& /*user*/) const {
    return std::nullopt;
  }
  // The user's workspace, creating the session with `options` (with its workspace, not yet a
  // worker: the first Execute takes one) when there is none; an existing session must agree
  // with the options it names, as for Execute (kConflict), and unknown or disallowed options
  // are refused (kInvalid) before anything is created. The grant stays usable while held, even
  // if the session ends meanwhile (its files are then gone: the workspace is unmounted when the
  // session ends).
  virtual void OpenWorkspace(const std::string& user, const SessionOptions& options,
                             std::function<void(WorkspaceGrant)> done) = 0;
  // The gateway changed the user's workspace (an upload, a deletion): those changes are not
  // reported as the next execution's.
  virtual void WorkspaceChanged(const std::string& /*user*/) {}
};

}  // namespace pool
