// Running a session's queue (pool_impl.h): one execution at a time, its deadline and interrupts,
// the answer with its usage and workspace changes, and abandoned executions.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>

#include "common/text.h"
#include "pool/outcomes.h"
#include "pool/pool_impl.h"
#include "pool/pool_metrics.h"

namespace pool {

namespace asio = boost::asio;
using std::chrono::milliseconds;

void Pool::Impl::Pump(Session& session) {
  if (session.running || session.queue.empty()) return;
  // A kernel that died since its exit was last looked at is noticed before it gets code.
  PoolOf(session).NoticeExit(session.worker);
  if (session.worker == 0) {
    if (!session.waiting) AcquireWorker(session);
    return;
  }
  const std::uint64_t worker = session.worker;
  if (!LimitsApplied(session)) return;  // resumed when adjusted
  if (session.workspace) {
    std::optional<SessionWorkspace::Failure> failure;
    if (!session.workspace->ReadyFor(worker, PoolOf(session).SandboxOf(worker), failure)) {
      if (failure) FailForWorkspace(session, *failure);
      return;  // resumed when the workspace is ready
    }
  }
  Running running;
  running.exec_id = ++next_exec_id;
  running.job = std::move(session.queue.front());
  session.queue.pop_front();
  running.started = Clock::now();
  running.timeout = std::min(running.job.command.timeout.value_or(session.limits.timeout),
                             session.limits.max_timeout);
  running.timer = std::make_unique<asio::steady_timer>(io, running.timeout);
  const std::uint64_t exec_id = running.exec_id;
  const std::string user = session.user;
  running.timer->async_wait([this, user, exec_id](const boost::system::error_code& ec) {
    if (!ec) OnDeadline(user, exec_id);
  });
  if (const auto sandbox = PoolOf(session).SandboxOf(worker)) {
    sandbox->ResetPeakMemory();
    running.usage_before = sandbox->Usage();
  }
  std::string code = std::move(running.job.command.code);
  jupyter::EventSink on_event = std::move(running.job.command.on_event);
  const auto on_start = std::move(running.job.command.on_start);
  session.running = std::move(running);
  PoolOf(session).SetExecuting(worker, true);
  if (on_start) on_start(WorkerPool::NameOf(worker));
  transport.Execute(worker, std::move(code), config.output_limits, std::move(on_event),
                    [this, user, exec_id](jupyter::ExecutionResult result) {
                      OnExecuted(user, exec_id, std::move(result));
                    });
}

bool Pool::Impl::LimitsApplied(Session& session) {
  const std::uint64_t worker = session.worker;
  if (session.limited_worker == worker) return true;
  const sandbox::ResourceLimits resources = ResourcesOf(session.limits);
  if (resources == ResourcesOf(config.limits)) {
    session.limited_worker = worker;  // warm workers start with the defaults
    return true;
  }
  if (session.adjusting) return false;
  session.adjusting = true;
  const std::string user = session.user;
  const std::uint64_t serial = session.serial;
  asio::post(blocking, [this, user, serial, worker, resources,
                        sandbox = PoolOf(session).SandboxOf(worker)] {
    common::Result<void> adjusted =
        sandbox ? sandbox->AdjustLimits(resources) : common::Fail("the worker is gone");
    asio::post(io, [this, user, serial, worker, adjusted = std::move(adjusted)]() mutable {
      OnAdjusted(user, serial, worker, std::move(adjusted));
    });
  });
  return false;
}

void Pool::Impl::OnAdjusted(const std::string& user, std::uint64_t serial, std::uint64_t worker,
                            common::Result<void> adjusted) {
  Session* session = FindSession(user);
  if (session == nullptr || session->serial != serial) return;
  session->adjusting = false;
  if (session->worker == worker) {
    if (adjusted) {
      session->limited_worker = worker;
    } else {
      // Its limits are now in an unknown state: it runs no code of this session.
      const std::string why =
          "could not be given the session's limits: " + adjusted.error().message;
      spdlog::error("user \"{}\": worker {} {}", common::Printable(user, 64),
                    PoolOf(*session).Name(worker), why);
      PoolOf(*session).Destroy(std::exchange(session->worker, 0), why);
      FailQueue(*session, Refusal(Outcome::kNoCapacity,
                                  "The session's limits could not be applied to a worker: " +
                                      adjusted.error().message,
                                  config.retry_after_seconds));
      return;
    }
  }
  Pump(*session);
}

Session* Pool::Impl::FindRunning(const std::string& user, std::uint64_t exec_id) {
  Session* session = FindSession(user);
  if (session == nullptr || !session->running || session->running->exec_id != exec_id)
    return nullptr;
  return session;
}

void Pool::Impl::OnDeadline(const std::string& user, std::uint64_t exec_id) {
  Session* session = FindRunning(user, exec_id);
  if (session == nullptr || session->worker == 0) return;
  spdlog::warn("user \"{}\": execution exceeded {} s, interrupting worker {}",
               common::Printable(user, 64), Seconds(session->running->timeout),
               PoolOf(*session).Name(session->worker));
  InterruptWithGrace(*session, Interruption::kDeadline);
}

void Pool::Impl::InterruptWithGrace(Session& session, Interruption why) {
  Running& running = *session.running;
  running.interruption = why;
  CountInterrupt(why);
  const std::string user = session.user;
  const std::uint64_t exec_id = running.exec_id;
  transport.Interrupt(session.worker);
  running.timer->expires_after(config.interrupt_grace);
  running.timer->async_wait([this, user, exec_id](const boost::system::error_code& ec) {
    if (!ec) OnGraceExpired(user, exec_id);
  });
}

void Pool::Impl::OnGraceExpired(const std::string& user, std::uint64_t exec_id) {
  Session* session = FindRunning(user, exec_id);
  if (session == nullptr || session->worker == 0) return;
  session->running->killed_after_interrupt = true;
  const std::uint64_t id = session->worker;
  session->worker = 0;
  // Disconnecting hands back the partial output through OnExecuted, which answers.
  PoolOf(*session).Destroy(
      id, "did not stop within " + Seconds(config.interrupt_grace) + " s of an interrupt");
}

void Pool::Impl::OnExecuted(const std::string& user, std::uint64_t exec_id,
                            jupyter::ExecutionResult result) {
  Session* session = FindRunning(user, exec_id);
  if (session == nullptr) return;  // already answered (released, shut down)
  Running running = std::move(*session->running);
  session->running.reset();
  running.timer->cancel();
  const auto now = Clock::now();
  session->last_active = now;

  const WorkerPool::WorkerId ran_on = session->worker;
  const bool lost = result.disconnected;
  if (lost && running.died.empty() && !running.killed_after_interrupt) {
    // The transport lost it, or cut it off for breaking the protocol; do not reuse it.
    running.died = result.disconnect_reason.empty()
                       ? "stopped responding"
                       : "was cut off by the gateway (" + result.disconnect_reason + ")";
    if (session->worker != 0)
      PoolOf(*session).Destroy(std::exchange(session->worker, 0), running.died);
  }
  PoolOf(*session).SetExecuting(session->worker, false);
  std::optional<ExecuteOutcome::Usage> usage;
  if (const auto sandbox = PoolOf(*session).SandboxOf(session->worker);
      sandbox && running.usage_before) {
    if (const auto after = sandbox->Usage()) {
      usage = ExecuteOutcome::Usage{
          static_cast<double>(after->cpu_ns -
                              std::min(after->cpu_ns, running.usage_before->cpu_ns)) /
              1e6,
          static_cast<double>(after->peak_memory_bytes) / (1024.0 * 1024.0)};
    }
  }
  ExecuteOutcome out = FinishedOutcome(running.timeout, running.interruption,
                                       running.killed_after_interrupt, running.died);
  out.duration = std::chrono::duration_cast<milliseconds>(now - running.started);
  if (ran_on != 0) out.worker_id = WorkerPool::NameOf(ran_on);
  out.usage = usage;
  ++session->executions;
  if (usage) {
    session->cpu_ms += usage->cpu_ms;
    session->peak_memory_mb = std::max(session->peak_memory_mb, usage->peak_memory_mb);
  }
  if (!out.state_preserved) out.detail += FilesKept(*session);
  spdlog::debug("user \"{}\": execution {} on {} in {} ms: {}{}", common::Printable(user, 64),
                running.job.command.id.empty() ? std::to_string(exec_id) : running.job.command.id,
                out.worker_id.empty() ? "no worker" : out.worker_id, out.duration.count(),
                result.status.empty() ? "no reply" : result.status,
                out.detail.empty() ? "" : " (" + out.detail + ")");
  out.result = std::move(result);
  if (running.interruption == Interruption::kHangup) {
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

void Pool::Impl::FailForWorkspace(Session& session, const SessionWorkspace::Failure& failure) {
  if (failure.worker_broken && session.worker != 0)
    PoolOf(session).Destroy(std::exchange(session.worker, 0),
                            "the workspace could not be attached");
  FailQueue(session, Refusal(Outcome::kNoCapacity, failure.detail, config.retry_after_seconds));
}

void Pool::Impl::Abandon(std::uint64_t ticket) {
  if (ticket == 0) return;
  for (auto& [user, session] : sessions) {
    for (auto it = session.queue.begin(); it != session.queue.end(); ++it) {
      if (it->command.ticket != ticket) continue;
      Job job = std::move(*it);
      session.queue.erase(it);
      spdlog::info("user \"{}\": client disconnected; queued execution dropped",
                   common::Printable(user, 64));
      const std::string who = user;  // `done` may end the session
      job.done(
          Refusal(Outcome::kAbandoned, "The client disconnected before the execution started"));
      EraseIfEmpty(who);
      return;
    }
    if (session.running && session.running->job.command.ticket == ticket) {
      Running& running = *session.running;
      if (running.interruption != Interruption::kNone || session.worker == 0) return;
      spdlog::info("user \"{}\": client disconnected; interrupting worker {}",
                   common::Printable(user, 64), PoolOf(session).Name(session.worker));
      InterruptWithGrace(session, Interruption::kHangup);
      return;
    }
  }
}

bool Pool::Impl::Interrupt(const std::string& user) {
  Session* session = FindSession(user);
  if (session == nullptr || !session->running) return false;
  if (session->running->interruption != Interruption::kNone || session->worker == 0)
    return true;  // already being interrupted, or its kernel is being replaced
  spdlog::info("user \"{}\": interrupt requested; interrupting worker {}",
               common::Printable(user, 64), PoolOf(*session).Name(session->worker));
  InterruptWithGrace(*session, Interruption::kRequested);
  return true;
}

}  // namespace pool
