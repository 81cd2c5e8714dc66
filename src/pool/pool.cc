#include "pool/pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/text.h"
#include "pool/outcomes.h"
#include "pool/session_workspace.h"
#include "pool/worker_pool.h"

namespace pool {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Job {
  ExecuteCommand command;
  std::function<void(ExecuteOutcome)> done;
};

struct Running {
  std::uint64_t exec_id = 0;
  Job job;
  Clock::time_point started;
  milliseconds timeout{0};
  std::unique_ptr<asio::steady_timer> timer;
  bool timed_out = false;          // the deadline passed and an interrupt was sent
  bool killed_on_timeout = false;  // the interrupt did not take; the worker is being destroyed
  bool abandoned = false;          // the client went away and an interrupt was sent
  std::string died;                // set when the kernel died during this execution
  std::optional<sandbox::ResourceUsage> usage_before;  // the worker's, as the execution started
};

struct Session {
  std::string user;
  std::uint64_t serial = 0;  // tells this session from a later one of the same user
  std::uint64_t worker = 0;  // 0: none yet, or lost
  bool waiting = false;      // a worker is requested from the WorkerPool and not yet granted
  std::deque<Job> queue;
  std::optional<Running> running;
  Clock::time_point last_active;
  std::string lost_notice;                      // an unreported loss of state
  std::unique_ptr<SessionWorkspace> workspace;  // null when the backend gives none
  // Its workspace may hold files (a worker or a file call had it): the session stays, even
  // without a worker, until released or reaped.
  bool holds_files = false;
};

}  // namespace

struct Pool::Impl {
  PoolConfig config;
  asio::io_context& io;
  sandbox::Launcher& launcher;
  jupyter::KernelTransport& transport;
  asio::thread_pool& blocking;
  WorkerPool workers;

  std::unordered_map<std::string, Session> sessions;
  std::uint64_t next_exec_id = 0;
  std::uint64_t next_serial = 0;
  bool shutting_down = false;
  asio::steady_timer tick_timer;

  Impl(PoolConfig c, asio::io_context& io_, asio::thread_pool& b, sandbox::Launcher& l,
       jupyter::KernelTransport& t)
      : config(std::move(c)),
        io(io_),
        launcher(l),
        transport(t),
        blocking(b),
        workers(config, io_, b, l, t,
                [this](std::uint64_t id, const std::string& user, const std::string& why) {
                  OnWorkerLost(id, user, why);
                }),
        tick_timer(io_) {}

  Session* FindSession(const std::string& user) {
    const auto it = sessions.find(user);
    return it == sessions.end() ? nullptr : &it->second;
  }

  // The user's session, created (with its workspace, where the backend gives one) if new.
  Session& SessionFor(const std::string& user) {
    auto [it, inserted] = sessions.try_emplace(user);
    Session& session = it->second;
    if (!inserted) return session;
    session.user = user;
    session.serial = ++next_serial;
    if (launcher.NoWorkspaces().empty()) {
      const std::uint64_t serial = session.serial;
      session.workspace = std::make_unique<SessionWorkspace>(
          SessionWorkspace::Env{io, blocking, launcher, config},
          config.runtime_dir / ("ws-" + std::to_string(serial)), [this, user, serial] {
            Session* again = FindSession(user);
            if (again != nullptr && again->serial == serial) Pump(*again);
          });
    }
    return session;
  }

  // ---- the session's worker ------------------------------------------------------------

  void AcquireWorker(Session& session) {
    // OnGrant clears it, before Request returns unless the request has to wait.
    session.waiting = true;
    const std::string user = session.user;
    workers.Request(user,
                    [this, user](WorkerPool::Grant grant) { OnGrant(user, std::move(grant)); });
  }

  void OnGrant(const std::string& user, WorkerPool::Grant grant) {
    // Always found, and waiting: ending a session cancels its request.
    Session* session = FindSession(user);
    if (session == nullptr || !session->waiting) return;
    session->waiting = false;
    if (!grant) {
      FailQueue(*session, Refusal(Outcome::kNoCapacity, std::move(grant.error()),
                                  config.retry_after_seconds));
      EraseIfEmpty(user);
      return;
    }
    session->worker = *grant;
    session->holds_files = true;
    Pump(*session);
  }

  // The WorkerPool destroys the worker right after this.
  void OnWorkerLost(std::uint64_t /*id*/, const std::string& user, const std::string& why) {
    Session* session = FindSession(user);
    if (session == nullptr) return;
    session->worker = 0;
    if (session->running) {
      // Answered when the transport hands back what the execution produced so far.
      session->running->died = why;
    } else {
      session->lost_notice =
          "The session's previous kernel " + why +
          " while idle; its state was lost and this request ran in a fresh kernel." +
          FilesKept(*session);
    }
  }

  // Said wherever a lost kernel is reported: its variables are gone, the workspace is not.
  static std::string FilesKept(const Session& session) {
    return session.workspace ? " The files in /sandbox were kept." : "";
  }

  // ---- executions ----------------------------------------------------------------------

  // Starts the next queued execution if the session is free. May erase the session.
  void Pump(Session& session) {
    if (session.running || session.queue.empty()) return;
    // A kernel that died since its exit was last looked at is noticed before it gets code.
    workers.NoticeExit(session.worker);
    if (session.worker == 0) {
      if (!session.waiting) AcquireWorker(session);
      return;
    }
    const std::uint64_t worker = session.worker;
    if (session.workspace) {
      std::optional<SessionWorkspace::Failure> failure;
      if (!session.workspace->ReadyFor(worker, workers.SandboxOf(worker), failure)) {
        if (failure) FailForWorkspace(session, *failure);
        return;  // resumed when the workspace is ready
      }
    }
    Running running;
    running.exec_id = ++next_exec_id;
    running.job = std::move(session.queue.front());
    session.queue.pop_front();
    running.started = Clock::now();
    running.timeout = std::min(running.job.command.timeout.value_or(config.exec_timeout),
                               config.max_exec_timeout);
    running.timer = std::make_unique<asio::steady_timer>(io, running.timeout);
    const std::uint64_t exec_id = running.exec_id;
    const std::string user = session.user;
    running.timer->async_wait([this, user, exec_id](const boost::system::error_code& ec) {
      if (!ec) OnDeadline(user, exec_id);
    });
    if (const auto sandbox = workers.SandboxOf(worker)) {
      sandbox->ResetPeakMemory();
      running.usage_before = sandbox->Usage();
    }
    std::string code = std::move(running.job.command.code);
    session.running = std::move(running);
    workers.SetExecuting(worker, true);
    transport.Execute(worker, std::move(code), config.output_limits,
                      [this, user, exec_id](jupyter::ExecutionResult result) {
                        OnExecuted(user, exec_id, std::move(result));
                      });
  }

  Session* FindRunning(const std::string& user, std::uint64_t exec_id) {
    Session* session = FindSession(user);
    if (session == nullptr || !session->running || session->running->exec_id != exec_id)
      return nullptr;
    return session;
  }

  void OnDeadline(const std::string& user, std::uint64_t exec_id) {
    Session* session = FindRunning(user, exec_id);
    if (session == nullptr || session->worker == 0) return;
    Running& running = *session->running;
    running.timed_out = true;
    spdlog::warn("user \"{}\": execution exceeded {} s, interrupting worker {}",
                 common::Printable(user, 64), Seconds(running.timeout),
                 workers.Name(session->worker));
    InterruptWithGrace(*session);
  }

  // Interrupts the running execution; if it has not stopped after the grace period, the
  // kernel is replaced (OnGraceExpired).
  void InterruptWithGrace(Session& session) {
    Running& running = *session.running;
    const std::string user = session.user;
    const std::uint64_t exec_id = running.exec_id;
    transport.Interrupt(session.worker);
    running.timer->expires_after(config.interrupt_grace);
    running.timer->async_wait([this, user, exec_id](const boost::system::error_code& ec) {
      if (!ec) OnGraceExpired(user, exec_id);
    });
  }

  void OnGraceExpired(const std::string& user, std::uint64_t exec_id) {
    Session* session = FindRunning(user, exec_id);
    if (session == nullptr || session->worker == 0) return;
    session->running->killed_on_timeout = true;
    const std::uint64_t id = session->worker;
    session->worker = 0;
    // Disconnecting hands back the partial output through OnExecuted, which answers.
    workers.Destroy(
        id, "did not stop within " + Seconds(config.interrupt_grace) + " s of an interrupt");
  }

  void OnExecuted(const std::string& user, std::uint64_t exec_id, jupyter::ExecutionResult result) {
    Session* session = FindRunning(user, exec_id);
    if (session == nullptr) return;  // already answered (released, shut down)
    Running running = std::move(*session->running);
    session->running.reset();
    running.timer->cancel();
    const auto now = Clock::now();
    session->last_active = now;

    const bool lost = result.disconnected;
    if (lost && running.died.empty() && !running.killed_on_timeout) {
      // The transport lost it, or cut it off for breaking the protocol; do not reuse it.
      running.died = result.disconnect_reason.empty()
                         ? "stopped responding"
                         : "was cut off by the gateway (" + result.disconnect_reason + ")";
      if (session->worker != 0) workers.Destroy(std::exchange(session->worker, 0), running.died);
    }
    workers.SetExecuting(session->worker, false);
    std::optional<ExecuteOutcome::Usage> usage;
    if (const auto sandbox = workers.SandboxOf(session->worker); sandbox && running.usage_before) {
      if (const auto after = sandbox->Usage()) {
        usage = ExecuteOutcome::Usage{
            static_cast<double>(after->cpu_ns -
                                std::min(after->cpu_ns, running.usage_before->cpu_ns)) /
                1e6,
            static_cast<double>(after->peak_memory_bytes) / (1024.0 * 1024.0)};
      }
    }
    ExecuteOutcome out = FinishedOutcome(running.timeout, running.timed_out,
                                         running.killed_on_timeout, running.died);
    out.duration = std::chrono::duration_cast<milliseconds>(now - running.started);
    out.usage = usage;
    if (!out.state_preserved) out.detail += FilesKept(*session);
    spdlog::debug("user \"{}\": execution {} in {} ms: {}{}", common::Printable(user, 64), exec_id,
                  out.duration.count(), result.status.empty() ? "no reply" : result.status,
                  out.detail.empty() ? "" : " (" + out.detail + ")");
    out.result = std::move(result);
    if (running.abandoned) {
      // Nobody reads this answer: a loss of state is told with the user's next one instead.
      if (!out.state_preserved && session->lost_notice.empty()) {
        session->lost_notice =
            "An earlier execution was interrupted because its client disconnected, and the "
            "kernel had to be replaced: the session's state was lost." +
            FilesKept(*session);
      }
      out.outcome = Outcome::kAbandoned;
      out.detail = "The client disconnected; the execution was interrupted.";
    } else if (!session->lost_notice.empty()) {
      out.notice = std::exchange(session->lost_notice, {});
      out.state_preserved = false;
    }
    auto answer = [this, user, done = std::move(running.job.done)](ExecuteOutcome out) {
      done(std::move(out));
      // `done` may have called back into the pool (e.g. released this user): look again.
      if (Session* again = FindSession(user); again != nullptr) Pump(*again);
    };
    if (!session->workspace) return answer(std::move(out));
    session->workspace->CollectChanges([answer = std::move(answer), out = std::move(out)](
                                           std::optional<workspace::ChangeList> changes) mutable {
      out.files = std::move(changes);
      answer(std::move(out));
    });
  }

  // The workspace could not be made ready: the queue is answered with why; a worker it could
  // not be attached to is replaced.
  void FailForWorkspace(Session& session, const SessionWorkspace::Failure& failure) {
    if (failure.worker_broken && session.worker != 0)
      workers.Destroy(std::exchange(session.worker, 0), "the workspace could not be attached");
    FailQueue(session, Refusal(Outcome::kNoCapacity, failure.detail, config.retry_after_seconds));
  }

  // ---- ending sessions -----------------------------------------------------------------

  void FailQueue(Session& session, const ExecuteOutcome& outcome) {
    std::deque<Job> queue = std::move(session.queue);
    session.queue.clear();
    for (Job& job : queue) job.done(outcome);
  }

  void EraseIfEmpty(const std::string& user) {
    Session* session = FindSession(user);
    if (session == nullptr || session->running || !session->queue.empty() || session->worker != 0 ||
        session->waiting || !session->lost_notice.empty() || session->holds_files) {
      return;
    }
    sessions.erase(user);
  }

  // Answers everything of the session with `outcome` and destroys its worker.
  void EndSession(const std::string& user, const ExecuteOutcome& outcome, const std::string& why) {
    Session* session = FindSession(user);
    if (session == nullptr) return;
    if (session->running) {
      Running running = std::move(*session->running);
      session->running.reset();
      running.timer->cancel();
      running.job.done(outcome);
    }
    FailQueue(*session, outcome);
    if (session->worker != 0) workers.Destroy(session->worker, why);
    if (session->waiting) workers.CancelRequest(user);
    sessions.erase(user);
  }

  // ---- periodic ------------------------------------------------------------------------

  void ScheduleTick() {
    tick_timer.expires_after(std::chrono::seconds(1));
    tick_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || shutting_down) return;
      const auto now = Clock::now();
      ReapIdle(now);
      workers.CheckHealth(now);
      ScheduleTick();
    });
  }

  void ReapIdle(Clock::time_point now) {
    std::vector<std::string> expired;
    for (const auto& [user, session] : sessions) {
      if (!session.running && session.queue.empty() && !session.waiting &&
          now - session.last_active >= config.idle_timeout) {
        expired.push_back(user);
      }
    }
    for (const std::string& user : expired) {
      spdlog::info("user \"{}\": session idle for over {} s, reaped", common::Printable(user, 64),
                   Seconds(config.idle_timeout));
      EndSession(user, Refusal(Outcome::kReleased, "session reaped"), "idle timeout");
    }
  }
};

Pool::Pool(PoolConfig config, asio::io_context& io, asio::thread_pool& blocking,
           sandbox::Launcher& launcher, jupyter::KernelTransport& transport)
    : impl_(std::make_unique<Impl>(std::move(config), io, blocking, launcher, transport)) {}

Pool::~Pool() = default;

void Pool::Start() {
  // Workspaces left by a gateway that did not shut down cleanly (their mounts were swept by
  // the launcher).
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(impl_->config.runtime_dir, ec)) {
    if (entry.path().filename().string().rfind("ws-", 0) != 0) continue;
    spdlog::info("removing stale workspace directory {}", entry.path().string());
    std::filesystem::remove_all(entry.path(), ec);
  }
  impl_->workers.Start();
  impl_->ScheduleTick();
}

void Pool::Shutdown() {
  Impl& p = *impl_;
  p.shutting_down = true;
  p.tick_timer.cancel();
  p.workers.StopStarting();  // the workers that the sessions give back are not replaced
  const ExecuteOutcome outcome =
      Refusal(Outcome::kShuttingDown, "The service is shutting down", p.config.retry_after_seconds);
  std::vector<std::string> users;
  for (const auto& [user, session] : p.sessions) users.push_back(user);
  for (const std::string& user : users) p.EndSession(user, outcome, "shutdown");
  p.workers.Shutdown();
}

void Pool::Execute(ExecuteCommand command, std::function<void(ExecuteOutcome)> done) {
  Impl& p = *impl_;
  if (p.shutting_down) {
    done(Refusal(Outcome::kShuttingDown, "The service is shutting down",
                 p.config.retry_after_seconds));
    return;
  }
  Session& session = p.SessionFor(command.user);
  if (session.queue.size() >= p.config.queue_limit) {
    done(Refusal(Outcome::kQueueFull,
                 "Too many executions queued for this user (limit " +
                     std::to_string(p.config.queue_limit) + ")",
                 1));
    return;
  }
  session.last_active = std::chrono::steady_clock::now();
  session.queue.push_back(Job{std::move(command), std::move(done)});
  p.Pump(session);
}

void Pool::Abandon(std::uint64_t ticket) {
  Impl& p = *impl_;
  if (ticket == 0) return;
  for (auto& [user, session] : p.sessions) {
    for (auto it = session.queue.begin(); it != session.queue.end(); ++it) {
      if (it->command.ticket != ticket) continue;
      Job job = std::move(*it);
      session.queue.erase(it);
      spdlog::info("user \"{}\": client disconnected; queued execution dropped",
                   common::Printable(user, 64));
      const std::string who = user;  // `done` may end the session
      job.done(
          Refusal(Outcome::kAbandoned, "The client disconnected before the execution started"));
      p.EraseIfEmpty(who);
      return;
    }
    if (session.running && session.running->job.command.ticket == ticket) {
      Running& running = *session.running;
      if (running.abandoned || running.timed_out || session.worker == 0) return;
      running.abandoned = true;
      spdlog::info("user \"{}\": client disconnected; interrupting worker {}",
                   common::Printable(user, 64), p.workers.Name(session.worker));
      p.InterruptWithGrace(session);
      return;
    }
  }
}

bool Pool::Release(const std::string& user) {
  Impl& p = *impl_;
  Session* session = p.FindSession(user);
  if (session == nullptr) return false;
  const bool had_worker = session->worker != 0 || session->waiting;
  spdlog::info("user \"{}\": released", common::Printable(user, 64));
  p.EndSession(user, Refusal(Outcome::kReleased, "The session was released"), "released");
  return had_worker;
}

PoolStatus Pool::Status() const {
  const Impl& p = *impl_;
  const WorkerCounts workers = p.workers.Counts();
  PoolStatus status;
  status.total_workers = workers.total;
  status.busy_workers = workers.busy;
  status.idle_workers_in_pool = workers.idle;
  status.executing_workers = workers.executing;
  status.starting_workers = workers.starting;
  status.sessions = p.sessions.size();
  status.max_workers = p.config.max_workers;
  status.min_idle_workers = p.config.min_idle;
  status.is_initializing = workers.initializing;
  status.sandbox = p.launcher.Name();
  return status;
}

void Pool::OpenWorkspace(const std::string& user, std::function<void(WorkspaceGrant)> done) {
  Impl& p = *impl_;
  if (p.shutting_down) {
    return done({.workspace = nullptr,
                 .refusal = WorkspaceRefusal::kShuttingDown,
                 .detail = "The service is shutting down",
                 .retry_after_seconds = p.config.retry_after_seconds});
  }
  if (std::string why = p.launcher.NoWorkspaces(); !why.empty()) {
    return done({.workspace = nullptr,
                 .refusal = WorkspaceRefusal::kUnavailable,
                 .detail = "This server gives sessions no workspace: " + why,
                 .retry_after_seconds = 0});
  }
  Session& session = p.SessionFor(user);
  session.last_active = std::chrono::steady_clock::now();
  session.holds_files = true;
  // A file call takes no worker: the session's first execution does, as it would anyway.
  session.workspace->Open(std::move(done));
}

void Pool::WorkspaceChanged(const std::string& user) {
  if (Session* session = impl_->FindSession(user); session != nullptr && session->workspace)
    session->workspace->Invalidate();
}

void Pool::ReapIdle(std::chrono::steady_clock::time_point now) { impl_->ReapIdle(now); }

}  // namespace pool
