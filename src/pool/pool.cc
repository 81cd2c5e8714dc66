#include "pool/pool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/text.h"

namespace pool {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class WorkerState { kStarting, kIdle, kAssigned, kExecuting };

struct Worker {
  std::uint64_t id = 0;
  std::string name;
  WorkerState state = WorkerState::kStarting;
  std::filesystem::path dir;
  std::shared_ptr<sandbox::Sandbox> sandbox;
  std::unique_ptr<asio::posix::stream_descriptor> exit_watch;
  std::string user;
  Clock::time_point created;
};

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
};

struct Session {
  std::string user;
  std::uint64_t worker = 0;  // 0: none yet, or lost
  bool waiting = false;      // in waiters_, a worker is being started or claimed for it
  std::deque<Job> queue;
  std::optional<Running> running;
  Clock::time_point last_active;
  std::string lost_notice;  // an unreported loss of state
};

std::string Seconds(milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

ExecuteOutcome Refusal(Outcome outcome, std::string detail, int retry_after = 0) {
  ExecuteOutcome out;
  out.outcome = outcome;
  out.detail = std::move(detail);
  out.retry_after_seconds = retry_after;
  return out;
}

}  // namespace

struct Pool::Impl {
  PoolConfig config;
  asio::io_context& io;
  asio::thread_pool& blocking;
  sandbox::Launcher& launcher;
  jupyter::KernelTransport& transport;

  std::map<std::uint64_t, std::unique_ptr<Worker>> workers;
  std::deque<std::uint64_t> idle;
  std::unordered_map<std::string, Session> sessions;
  std::deque<std::string> waiters;  // users whose session waits for a starting worker
  std::uint64_t next_worker_id = 0;
  std::uint64_t next_exec_id = 0;
  bool initializing = false;
  bool shutting_down = false;
  int start_failures = 0;
  bool backing_off = false;
  std::string last_start_error;
  asio::steady_timer tick_timer;
  asio::steady_timer retry_timer;
  Clock::time_point next_health;

  Impl(PoolConfig c, asio::io_context& io_, asio::thread_pool& b, sandbox::Launcher& l,
       jupyter::KernelTransport& t)
      : config(std::move(c)),
        io(io_),
        blocking(b),
        launcher(l),
        transport(t),
        tick_timer(io_),
        retry_timer(io_) {}

  // ---- lookups -------------------------------------------------------------------------

  Worker* FindWorker(std::uint64_t id) {
    const auto it = workers.find(id);
    return it == workers.end() ? nullptr : it->second.get();
  }

  Session* FindSession(const std::string& user) {
    const auto it = sessions.find(user);
    return it == sessions.end() ? nullptr : &it->second;
  }

  std::size_t CountStarting() const {
    return static_cast<std::size_t>(
        std::count_if(workers.begin(), workers.end(),
                      [](const auto& w) { return w.second->state == WorkerState::kStarting; }));
  }

  // ---- worker lifecycle ----------------------------------------------------------------

  void TopUp() {
    if (shutting_down || backing_off) return;
    const std::size_t starting = CountStarting();
    std::size_t spare_starting = starting > waiters.size() ? starting - waiters.size() : 0;
    while (idle.size() + spare_starting < config.min_idle && workers.size() < config.max_workers) {
      StartWorker();
      ++spare_starting;
    }
  }

  void StartWorker() {
    auto worker = std::make_unique<Worker>();
    worker->id = ++next_worker_id;
    worker->name = "w-" + std::to_string(worker->id);
    worker->dir = config.runtime_dir / worker->name;
    worker->created = Clock::now();
    sandbox::WorkerSpec spec;
    spec.name = worker->name;
    spec.dir = worker->dir;
    spec.connection_file = worker->dir / "kernel.json";
    spec.python = config.python;
    // A little over the gateway's own cap, so that the gateway still sees (and reports) that
    // output was cut.
    spec.stream_cap_chars = config.output_limits.max_text_bytes + 4096;
    const std::uint64_t id = worker->id;
    workers[id] = std::move(worker);
    asio::post(blocking, [this, id, spec = std::move(spec)] {
      auto launched = Launch(spec);
      asio::post(io,
                 [this, id, launched = std::make_shared<decltype(launched)>(std::move(launched))] {
                   OnLaunched(id, std::move(*launched));
                 });
    });
  }

  // Runs on the blocking executor.
  using Launched =
      common::Result<std::pair<std::shared_ptr<sandbox::Sandbox>, jupyter::ConnectionInfo>>;
  Launched Launch(const sandbox::WorkerSpec& base) {
    std::error_code ec;
    std::filesystem::remove_all(base.dir, ec);
    if (::mkdir(base.dir.c_str(), 0700) != 0)
      return common::ErrnoFail("mkdir(" + base.dir.string() + ")");
    auto connection = jupyter::NewConnection(base.dir);
    if (!connection) return std::unexpected(connection.error());
    sandbox::WorkerSpec spec = base;
    spec.connection = *connection;
    if (auto written = jupyter::WriteConnectionFile(spec.connection, spec.connection_file);
        !written) {
      return std::unexpected(written.error());
    }
    auto sandbox = launcher.Launch(spec);
    if (!sandbox) return std::unexpected(sandbox.error());
    return std::pair{std::shared_ptr<sandbox::Sandbox>(std::move(*sandbox)), spec.connection};
  }

  void OnLaunched(std::uint64_t id, Launched launched) {
    Worker* worker = FindWorker(id);
    if (worker == nullptr) {  // destroyed (shutdown) while launching
      if (launched) launched->first->Kill();
      std::error_code ec;
      std::filesystem::remove_all(config.runtime_dir / ("w-" + std::to_string(id)), ec);
      return;
    }
    if (!launched) {
      OnStartFailed(id, launched.error().message);
      return;
    }
    worker->sandbox = std::move(launched->first);
    spdlog::debug("worker {} launched ({})", worker->name, worker->sandbox->Describe());
    WatchExit(*worker);
    transport.Connect(id, launched->second);
    transport.WaitReady(id, config.start_timeout,
                        [this, id](common::Result<void> ready) { OnReady(id, std::move(ready)); });
  }

  void WatchExit(Worker& worker) {
    const int fd = ::fcntl(worker.sandbox->ExitFd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      spdlog::error("worker {}: cannot watch for exit: {}", worker.name, std::strerror(errno));
      return;
    }
    worker.exit_watch = std::make_unique<asio::posix::stream_descriptor>(io, fd);
    worker.exit_watch->async_wait(asio::posix::stream_descriptor::wait_read,
                                  [this, id = worker.id](const boost::system::error_code& ec) {
                                    if (!ec) OnWorkerExit(id);
                                  });
  }

  void OnReady(std::uint64_t id, common::Result<void> ready) {
    Worker* worker = FindWorker(id);
    if (worker == nullptr || worker->state != WorkerState::kStarting) return;
    if (!ready) {
      OnStartFailed(id, ready.error().message);
      return;
    }
    const auto ms =
        std::chrono::duration_cast<milliseconds>(Clock::now() - worker->created).count();
    spdlog::info("worker {} ready in {} ms ({})", worker->name, ms, worker->sandbox->Describe());
    start_failures = 0;
    worker->sandbox->OnKernelReady();
    worker->state = WorkerState::kIdle;
    HandOut(id);
  }

  // A ready worker goes to the oldest waiting session, else into the idle pool.
  void HandOut(std::uint64_t id) {
    while (!waiters.empty()) {
      const std::string user = std::move(waiters.front());
      waiters.pop_front();
      Session* session = FindSession(user);
      if (session != nullptr && session->waiting) {
        Assign(*session, id);
        return;
      }
    }
    idle.push_back(id);
    if (initializing && idle.size() >= config.min_idle) {
      initializing = false;
      spdlog::info("pool initialized: {} idle workers", idle.size());
    }
  }

  // `reason` names the failure; the kernel's exit status is appended when it has one and
  // the reason does not already say how the kernel ended.
  void OnStartFailed(std::uint64_t id, const std::string& reason, bool add_status = true) {
    Worker* worker = FindWorker(id);
    std::string why = reason;
    if (add_status && worker != nullptr && worker->sandbox) {
      if (auto status = worker->sandbox->ExitStatus()) {
        why += " (kernel " + sandbox::DescribeExitStatus(*status) + ")";
      }
    }
    spdlog::error("worker {} failed to start: {}", worker ? worker->name : std::to_string(id), why);
    backing_off = true;  // before DestroyWorker, whose top-up must wait for the retry timer
    DestroyWorker(id, "start failed");
    last_start_error = why;
    initializing = false;
    ++start_failures;
    // Sessions waiting for a worker that will not come are told so now.
    while (waiters.size() > CountStarting()) {
      const std::string user = std::move(waiters.back());
      waiters.pop_back();
      Session* session = FindSession(user);
      if (session == nullptr || !session->waiting) continue;
      session->waiting = false;
      FailQueue(*session, Refusal(Outcome::kNoCapacity, "Could not start a worker: " + why,
                                  config.retry_after_seconds));
      EraseIfEmpty(user);
    }
    // Back off so a broken setup does not spin: 0.25 s, 0.5 s, ... up to 30 s.
    const auto delay = std::min<milliseconds>(
        milliseconds(250) * (1 << std::min(start_failures, 7)), milliseconds(30000));
    retry_timer.expires_after(delay);
    retry_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      backing_off = false;
      TopUp();
    });
  }

  void OnWorkerExit(std::uint64_t id) {
    Worker* worker = FindWorker(id);
    if (worker == nullptr) return;
    const auto status = worker->sandbox->ExitStatus();
    const std::string why =
        worker->sandbox->OutOfMemory()
            ? std::string("ran out of memory and was killed")
            : "exited (" + (status ? sandbox::DescribeExitStatus(*status) : "unknown status") + ")";
    spdlog::warn("worker {} {}", worker->name, why);
    OnWorkerDead(id, why);
  }

  void OnWorkerDead(std::uint64_t id, const std::string& why) {
    Worker* worker = FindWorker(id);
    if (worker == nullptr) return;
    switch (worker->state) {
      case WorkerState::kStarting:
        OnStartFailed(id, "kernel " + why, /*add_status=*/false);
        return;
      case WorkerState::kIdle:
        DestroyWorker(id, why);
        return;
      case WorkerState::kAssigned:
      case WorkerState::kExecuting:
        break;
    }
    Session* session = FindSession(worker->user);
    if (session == nullptr) {
      DestroyWorker(id, why);
      return;
    }
    session->worker = 0;
    if (session->running) {
      // Answered when the transport hands back what the execution produced so far.
      session->running->died = why;
    } else {
      session->lost_notice =
          "The session's previous kernel " + why +
          " while idle; its state was lost and this request ran in a fresh kernel.";
    }
    DestroyWorker(id, why);
  }

  // Forgets the worker now; the kill and the directory removal happen off the io thread. The
  // slot it frees is refilled at once (TopUp), unless the pool is backing off or shutting down.
  void DestroyWorker(std::uint64_t id, const std::string& why) {
    const auto it = workers.find(id);
    if (it == workers.end()) return;
    std::unique_ptr<Worker> worker = std::move(it->second);
    workers.erase(it);
    idle.erase(std::remove(idle.begin(), idle.end(), id), idle.end());
    transport.Disconnect(id);
    if (worker->exit_watch) {
      boost::system::error_code ignored;
      worker->exit_watch->close(ignored);
    }
    spdlog::info("worker {} destroyed: {}", worker->name, why);
    asio::post(blocking, [sandbox = std::move(worker->sandbox), dir = worker->dir]() mutable {
      if (sandbox) sandbox->Kill();
      sandbox.reset();
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    TopUp();
  }

  // ---- sessions ------------------------------------------------------------------------

  void Assign(Session& session, std::uint64_t id) {
    Worker& worker = *workers.at(id);
    worker.state = WorkerState::kAssigned;
    worker.user = session.user;
    session.worker = id;
    session.waiting = false;
    spdlog::info("user \"{}\" assigned worker {}", common::Printable(session.user, 64),
                 worker.name);
    TopUp();
    Pump(session);
  }

  void AcquireWorker(Session& session) {
    while (!idle.empty()) {
      const std::uint64_t id = idle.front();
      Worker& worker = *workers.at(id);
      // A kernel that died in the pool is replaced, not handed out (the user would be told
      // of a lost state they never had).
      if (worker.sandbox && worker.sandbox->ExitStatus()) {
        OnWorkerExit(id);
        continue;
      }
      idle.pop_front();
      Assign(session, id);
      return;
    }
    if (CountStarting() > waiters.size()) {
      session.waiting = true;
      waiters.push_back(session.user);
      return;
    }
    if (workers.size() < config.max_workers && !backing_off) {
      session.waiting = true;
      waiters.push_back(session.user);
      StartWorker();
      return;
    }
    const std::string user = session.user;
    const std::string detail =
        workers.size() < config.max_workers
            ? "Workers are failing to start (last error: " + last_start_error +
                  "); retrying, try again later"
            : "All " + std::to_string(config.max_workers) +
                  " workers are in use (max_workers reached); try again later";
    FailQueue(session, Refusal(Outcome::kNoCapacity, detail, config.retry_after_seconds));
    EraseIfEmpty(user);
  }

  // Starts the next queued execution if the session is free. May erase the session.
  void Pump(Session& session) {
    if (session.running || session.queue.empty()) return;
    // A kernel that died since its exit was last looked at is noticed before it gets code.
    if (Worker* w = FindWorker(session.worker);
        w != nullptr && w->sandbox && w->sandbox->ExitStatus()) {
      OnWorkerExit(w->id);
    }
    if (session.worker == 0) {
      if (!session.waiting) AcquireWorker(session);
      return;
    }
    Worker& worker = *workers.at(session.worker);
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
    std::string code = std::move(running.job.command.code);
    session.running = std::move(running);
    worker.state = WorkerState::kExecuting;
    transport.Execute(worker.id, std::move(code), config.output_limits,
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
                 workers.at(session->worker)->name);
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
    DestroyWorker(id,
                  "did not stop within " + Seconds(config.interrupt_grace) + " s of an interrupt");
  }

  void OnExecuted(const std::string& user, std::uint64_t exec_id, jupyter::ExecutionResult result) {
    Session* session = FindRunning(user, exec_id);
    if (session == nullptr) return;  // already answered (released, shut down)
    Running running = std::move(*session->running);
    session->running.reset();
    running.timer->cancel();
    const auto now = Clock::now();
    session->last_active = now;

    ExecuteOutcome out;
    out.duration = std::chrono::duration_cast<milliseconds>(now - running.started);
    out.timeout = running.timeout;
    const bool lost = result.disconnected;
    if (lost && running.died.empty() && !running.killed_on_timeout) {
      // The transport lost it, or cut it off for breaking the protocol; do not reuse it.
      running.died = result.disconnect_reason.empty()
                         ? "stopped responding"
                         : "was cut off by the gateway (" + result.disconnect_reason + ")";
      if (session->worker != 0) DestroyWorker(std::exchange(session->worker, 0), running.died);
    }
    if (Worker* worker = FindWorker(session->worker); worker != nullptr) {
      worker->state = WorkerState::kAssigned;
    }
    if (running.killed_on_timeout) {
      out.outcome = Outcome::kTimedOut;
      out.state_preserved = false;
      out.detail = "Execution exceeded the " + Seconds(running.timeout) +
                   " s timeout and the kernel did not stop when interrupted; it was replaced and "
                   "the session's state was lost.";
    } else if (!running.died.empty()) {
      out.outcome = Outcome::kKernelDied;
      out.state_preserved = false;
      out.detail = "The kernel " + running.died +
                   " during execution; the session's state was lost. The next request runs in a "
                   "fresh kernel.";
    } else if (running.timed_out) {
      out.outcome = Outcome::kTimedOut;
      out.detail = "Execution exceeded the " + Seconds(running.timeout) +
                   " s timeout and was interrupted; the session's state was kept.";
    }
    spdlog::debug("user \"{}\": execution {} in {} ms: {}{}", common::Printable(user, 64), exec_id,
                  out.duration.count(), result.status.empty() ? "no reply" : result.status,
                  out.detail.empty() ? "" : " (" + out.detail + ")");
    out.result = std::move(result);
    if (running.abandoned) {
      // Nobody reads this answer: a loss of state is told with the user's next one instead.
      if (!out.state_preserved && session->lost_notice.empty()) {
        session->lost_notice =
            "An earlier execution was interrupted because its client disconnected, and the "
            "kernel had to be replaced: the session's state was lost.";
      }
      out.outcome = Outcome::kAbandoned;
      out.detail = "The client disconnected; the execution was interrupted.";
    } else if (!session->lost_notice.empty()) {
      out.notice = std::exchange(session->lost_notice, {});
      out.state_preserved = false;
    }
    running.job.done(std::move(out));
    // `done` may have called back into the pool (e.g. released this user): look again.
    if (Session* again = FindSession(user); again != nullptr) Pump(*again);
  }

  void FailQueue(Session& session, const ExecuteOutcome& outcome) {
    std::deque<Job> queue = std::move(session.queue);
    session.queue.clear();
    for (Job& job : queue) job.done(outcome);
  }

  void EraseIfEmpty(const std::string& user) {
    Session* session = FindSession(user);
    if (session == nullptr || session->running || !session->queue.empty() || session->worker != 0 ||
        session->waiting || !session->lost_notice.empty()) {
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
    if (session->worker != 0) DestroyWorker(session->worker, why);
    if (session->waiting)
      waiters.erase(std::remove(waiters.begin(), waiters.end(), user), waiters.end());
    sessions.erase(user);
  }

  // ---- periodic ------------------------------------------------------------------------

  void ScheduleTick() {
    tick_timer.expires_after(std::chrono::seconds(1));
    tick_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || shutting_down) return;
      const auto now = Clock::now();
      ReapIdle(now);
      if (now >= next_health) {
        next_health = now + config.health_interval;
        CheckHealth();
      }
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

  void CheckHealth() {
    const auto timeout = std::min<milliseconds>(config.health_interval, milliseconds(5000));
    for (const auto& [id, worker] : workers) {
      if (worker->state != WorkerState::kIdle && worker->state != WorkerState::kAssigned) continue;
      transport.Ping(id, timeout, [this, id = id](bool alive) {
        Worker* w = FindWorker(id);
        if (alive || w == nullptr || w->state == WorkerState::kExecuting) return;
        spdlog::warn("worker {} missed its heartbeat", w->name);
        OnWorkerDead(id, "stopped answering heartbeats");
      });
    }
  }
};

Pool::Pool(PoolConfig config, asio::io_context& io, asio::thread_pool& blocking,
           sandbox::Launcher& launcher, jupyter::KernelTransport& transport)
    : impl_(std::make_unique<Impl>(std::move(config), io, blocking, launcher, transport)) {}

Pool::~Pool() = default;

void Pool::Start() {
  Impl& p = *impl_;
  std::error_code ec;
  std::filesystem::create_directories(p.config.runtime_dir, ec);
  ::chmod(p.config.runtime_dir.c_str(), 0700);
  // Leftovers of a gateway that did not shut down cleanly.
  for (const auto& entry : std::filesystem::directory_iterator(p.config.runtime_dir, ec)) {
    if (entry.path().filename().string().rfind("w-", 0) == 0) {
      spdlog::info("removing stale worker directory {}", entry.path().string());
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  p.initializing = p.config.min_idle > 0;
  p.next_health = std::chrono::steady_clock::now() + p.config.health_interval;
  p.TopUp();
  p.ScheduleTick();
}

void Pool::Shutdown() {
  Impl& p = *impl_;
  p.shutting_down = true;
  p.tick_timer.cancel();
  p.retry_timer.cancel();
  const ExecuteOutcome outcome =
      Refusal(Outcome::kShuttingDown, "The service is shutting down", p.config.retry_after_seconds);
  std::vector<std::string> users;
  for (const auto& [user, session] : p.sessions) users.push_back(user);
  for (const std::string& user : users) p.EndSession(user, outcome, "shutdown");
  p.waiters.clear();
  std::vector<std::uint64_t> ids;
  for (const auto& [id, worker] : p.workers) ids.push_back(id);
  for (const std::uint64_t id : ids) p.DestroyWorker(id, "shutdown");
}

void Pool::Execute(ExecuteCommand command, std::function<void(ExecuteOutcome)> done) {
  Impl& p = *impl_;
  if (p.shutting_down) {
    done(Refusal(Outcome::kShuttingDown, "The service is shutting down",
                 p.config.retry_after_seconds));
    return;
  }
  auto [it, inserted] = p.sessions.try_emplace(command.user);
  Session& session = it->second;
  if (inserted) session.user = command.user;
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
                   common::Printable(user, 64), p.workers.at(session.worker)->name);
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
  PoolStatus status;
  status.total_workers = p.workers.size();
  for (const auto& [id, worker] : p.workers) {
    switch (worker->state) {
      case WorkerState::kStarting:
        ++status.starting_workers;
        break;
      case WorkerState::kIdle:
        break;
      case WorkerState::kExecuting:
        ++status.executing_workers;
        [[fallthrough]];
      case WorkerState::kAssigned:
        ++status.busy_workers;
        break;
    }
  }
  status.idle_workers_in_pool = p.idle.size();
  status.sessions = p.sessions.size();
  status.max_workers = p.config.max_workers;
  status.min_idle_workers = p.config.min_idle;
  status.is_initializing = p.initializing;
  status.sandbox = p.launcher.Name();
  return status;
}

void Pool::ReapIdle(std::chrono::steady_clock::time_point now) { impl_->ReapIdle(now); }

}  // namespace pool
