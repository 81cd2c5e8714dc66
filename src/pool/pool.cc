#include "pool/pool.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "common/text.h"
#include "pool/outcomes.h"
#include "pool/pool_impl.h"
#include "pool/pool_metrics.h"

namespace pool {

namespace asio = boost::asio;

Pool::Impl::Impl(PoolConfig c, asio::io_context& io_, asio::thread_pool& b, sandbox::Launcher& l,
                 jupyter::KernelTransport& t)
    : config(std::move(c)), io(io_), launcher(l), transport(t), blocking(b), tick_timer(io_) {
  if (config.environments.empty())
    config.environments.push_back({.environment = {}, .min_idle = config.min_idle});
  default_environment = config.environments.front().environment.name;
  budget.max_workers = config.max_workers;
  budget.reclaim_idle = [this] {
    for (auto& [name, pool] : pools) {
      if (pool->ReclaimIdle()) return true;
    }
    return false;
  };
  budget.on_freed = [this] {
    for (auto& [name, pool] : pools) pool->TopUp();
  };
  for (const EnvironmentConfig& env : config.environments) {
    pools.emplace(
        env.environment.name,
        std::make_unique<WorkerPool>(config, env.environment, env.min_idle, budget, io_, b, l, t,
                                     [this](std::uint64_t /*id*/, const std::string& user,
                                            const std::string& why) { OnWorkerLost(user, why); }));
  }
}

common::Result<Pool::Impl::Resolved> Pool::Impl::Resolve(const SessionOptions& options) const {
  Resolved resolved;
  if (options.environment.empty()) {
    resolved.environment = default_environment;
  } else if (pools.contains(options.environment)) {
    resolved.environment = options.environment;
  } else {
    std::string known;
    for (const auto& [name, pool] : pools) known += (known.empty() ? "" : ", ") + name;
    return common::Fail("Unknown environment '" + common::Printable(options.environment, 64) +
                        "'; this server has: " + known);
  }
  auto limits = ResolveLimits(options.limits, config.limits, config.limit_caps);
  if (!limits) return std::unexpected(limits.error());
  resolved.limits = *limits;
  return resolved;
}

std::string Pool::Impl::Mismatch(const Session& session, const SessionOptions& options,
                                 const Resolved& resolved) {
  if (!options.environment.empty() && session.environment != resolved.environment) {
    return "This user's session runs environment '" + session.environment + "', not '" +
           resolved.environment + "'; release it first to change";
  }
  if (!options.limits.Empty() && session.limits != resolved.limits)
    return "This user's session has other limits than the request names; release it first to "
           "change";
  return {};
}

Session* Pool::Impl::FindSession(const std::string& user) {
  const auto it = sessions.find(user);
  return it == sessions.end() ? nullptr : &it->second;
}

Session& Pool::Impl::SessionFor(const std::string& user, const Resolved& resolved) {
  auto [it, inserted] = sessions.try_emplace(user);
  Session& session = it->second;
  if (!inserted) return session;
  session.user = user;
  session.environment = resolved.environment;
  session.limits = resolved.limits;
  session.created = Clock::now();
  session.serial = ++next_serial;
  if (launcher.NoWorkspaces().empty()) {
    const std::uint64_t serial = session.serial;
    session.workspace =
        std::make_unique<SessionWorkspace>(SessionWorkspace::Env{io, blocking, launcher, config},
                                           config.runtime_dir / ("ws-" + std::to_string(serial)),
                                           session.limits.workspace_mb << 20, [this, user, serial] {
                                             Session* again = FindSession(user);
                                             if (again != nullptr && again->serial == serial)
                                               Pump(*again);
                                           });
  }
  return session;
}

void Pool::Impl::AcquireWorker(Session& session) {
  // OnGrant clears it, before Request returns unless the request has to wait.
  session.waiting = true;
  const std::string user = session.user;
  PoolOf(session).Request(
      user, [this, user](WorkerPool::Grant grant) { OnGrant(user, std::move(grant)); });
}

void Pool::Impl::OnGrant(const std::string& user, WorkerPool::Grant grant) {
  // Always found, and waiting: ending a session cancels its request.
  Session* session = FindSession(user);
  if (session == nullptr || !session->waiting) return;
  session->waiting = false;
  if (!grant) {
    FailQueue(*session,
              Refusal(Outcome::kNoCapacity, std::move(grant.error()), config.retry_after_seconds));
    EraseIfEmpty(user);
    return;
  }
  session->worker = *grant;
  session->holds_files = true;
  Pump(*session);
}

void Pool::Impl::OnWorkerLost(const std::string& user, const std::string& why) {
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

std::string Pool::Impl::FilesKept(const Session& session) {
  return session.workspace ? " The files in /sandbox were kept." : "";
}

void Pool::Impl::FailQueue(Session& session, const ExecuteOutcome& outcome) {
  std::deque<Job> queue = std::move(session.queue);
  session.queue.clear();
  for (Job& job : queue) job.done(outcome);
}

void Pool::Impl::EraseIfEmpty(const std::string& user) {
  Session* session = FindSession(user);
  if (session == nullptr || session->running || !session->queue.empty() || session->worker != 0 ||
      session->waiting || !session->lost_notice.empty() || session->holds_files) {
    return;
  }
  sessions.erase(user);
}

void Pool::Impl::EndSession(const std::string& user, const ExecuteOutcome& outcome,
                            const std::string& why) {
  Session* session = FindSession(user);
  if (session == nullptr) return;
  if (session->running) {
    Running running = std::move(*session->running);
    session->running.reset();
    running.timer->cancel();
    running.job.done(outcome);
  }
  FailQueue(*session, outcome);
  if (session->worker != 0) PoolOf(*session).Destroy(session->worker, why);
  if (session->waiting) PoolOf(*session).CancelRequest(user);
  sessions.erase(user);
}

void Pool::Impl::ScheduleTick() {
  tick_timer.expires_after(std::chrono::seconds(1));
  tick_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down) return;
    const auto now = Clock::now();
    ReapIdle(now);
    for (auto& [name, pool] : pools) pool->CheckHealth(now);
    ScheduleTick();
  });
}

void Pool::Impl::ReapIdle(Clock::time_point now) {
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

Pool::Pool(PoolConfig config, asio::io_context& io, asio::thread_pool& blocking,
           sandbox::Launcher& launcher, jupyter::KernelTransport& transport)
    : impl_(std::make_unique<Impl>(std::move(config), io, blocking, launcher, transport)) {
  RegisterPoolMetrics();
}

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
  WorkerPool::SweepStale(impl_->config.runtime_dir);
  for (auto& [name, pool] : impl_->pools) pool->Start();
  impl_->ScheduleTick();
}

void Pool::Shutdown() {
  Impl& p = *impl_;
  p.shutting_down = true;
  p.tick_timer.cancel();
  // The workers that the sessions give back are not replaced.
  for (auto& [name, pool] : p.pools) pool->StopStarting();
  const ExecuteOutcome outcome =
      Refusal(Outcome::kShuttingDown, "The service is shutting down", p.config.retry_after_seconds);
  std::vector<std::string> users;
  for (const auto& [user, session] : p.sessions) users.push_back(user);
  for (const std::string& user : users) p.EndSession(user, outcome, "shutdown");
  for (auto& [name, pool] : p.pools) pool->Shutdown();
}

void Pool::Execute(ExecuteCommand command, std::function<void(ExecuteOutcome)> reply) {
  Impl& p = *impl_;
  auto done = Counted(std::move(reply));  // every answer counted, refusals included
  if (p.shutting_down) {
    done(Refusal(Outcome::kShuttingDown, "The service is shutting down",
                 p.config.retry_after_seconds));
    return;
  }
  auto resolved = p.Resolve(command.session);
  if (!resolved) return done(Refusal(Outcome::kInvalid, resolved.error().message));
  Session& session = p.SessionFor(command.user, *resolved);
  if (std::string why = Impl::Mismatch(session, command.session, *resolved); !why.empty())
    return done(Refusal(Outcome::kConflict, std::move(why)));
  if (command.timeout && *command.timeout > session.limits.max_timeout) {
    return done(Refusal(Outcome::kInvalid, "Field 'timeout' must be at most " +
                                               Seconds(session.limits.max_timeout) +
                                               " seconds (this session's max_timeout)"));
  }
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

void Pool::Abandon(std::uint64_t ticket) { impl_->Abandon(ticket); }

bool Pool::Interrupt(const std::string& user) { return impl_->Interrupt(user); }

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
  PoolStatus status;
  for (const auto& [name, pool] : p.pools) {
    const WorkerCounts workers = pool->Counts();
    status.total_workers += workers.total;
    status.busy_workers += workers.busy;
    status.idle_workers_in_pool += workers.idle;
    status.executing_workers += workers.executing;
    status.starting_workers += workers.starting;
    status.min_idle_workers += pool->MinIdle();
    status.is_initializing = status.is_initializing || workers.initializing;
    EnvironmentStatus env;
    env.name = name;
    env.min_idle = pool->MinIdle();
    env.total_workers = workers.total;
    env.idle_workers = workers.idle;
    env.busy_workers = workers.busy;
    env.starting_workers = workers.starting;
    status.environments.push_back(std::move(env));
  }
  for (const auto& [user, session] : p.sessions) {
    for (EnvironmentStatus& env : status.environments) {
      if (env.name == session.environment) ++env.sessions;
    }
  }
  status.sessions = p.sessions.size();
  status.max_workers = p.config.max_workers;
  status.sandbox = p.launcher.Name();
  status.default_environment = p.default_environment;
  return status;
}

SessionCreated Pool::CreateSession(const std::string& user, const SessionOptions& options,
                                   std::string& detail) {
  Impl& p = *impl_;
  if (p.shutting_down) {
    detail = "The service is shutting down";
    return SessionCreated::kShuttingDown;
  }
  auto resolved = p.Resolve(options);
  if (!resolved) {
    detail = resolved.error().message;
    return SessionCreated::kInvalid;
  }
  if (p.FindSession(user) != nullptr) {
    detail = "A session for this user exists already";
    return SessionCreated::kExists;
  }
  Session& session = p.SessionFor(user, *resolved);
  session.last_active = Clock::now();
  session.holds_files = true;  // kept, without a worker, until released or reaped
  return SessionCreated::kCreated;
}

std::optional<SessionInfo> Pool::Describe(const std::string& user) const {
  const auto it = impl_->sessions.find(user);
  if (it == impl_->sessions.end()) return std::nullopt;
  const Session& s = it->second;
  const auto now = Clock::now();
  return SessionInfo{.user = s.user,
                     .environment = s.environment,
                     .limits = s.limits,
                     .age = now - s.created,
                     .idle = s.running ? Clock::duration{} : now - s.last_active,
                     .has_worker = s.worker != 0,
                     .executing = s.running.has_value(),
                     .queued = s.queue.size(),
                     .executions = s.executions,
                     .cpu_ms = s.cpu_ms,
                     .peak_memory_mb = s.peak_memory_mb};
}

void Pool::OpenWorkspace(const std::string& user, const SessionOptions& options,
                         std::function<void(WorkspaceGrant)> done) {
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
  auto resolved = p.Resolve(options);
  if (!resolved) {
    return done({.workspace = nullptr,
                 .refusal = WorkspaceRefusal::kInvalid,
                 .detail = resolved.error().message,
                 .retry_after_seconds = 0});
  }
  Session& session = p.SessionFor(user, *resolved);
  if (std::string why = Impl::Mismatch(session, options, *resolved); !why.empty()) {
    return done({.workspace = nullptr,
                 .refusal = WorkspaceRefusal::kConflict,
                 .detail = std::move(why),
                 .retry_after_seconds = 0});
  }
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
