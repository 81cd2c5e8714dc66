#include "pool/worker_pool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstring>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/text.h"

namespace pool {

namespace metrics = common::metrics;

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct WorkerPool::Worker {
  WorkerId id = 0;
  std::string name;
  State state = State::kStarting;
  std::filesystem::path dir;
  std::shared_ptr<sandbox::Sandbox> sandbox;
  std::unique_ptr<asio::posix::stream_descriptor> exit_watch;
  std::string user;
  Clock::time_point created;
};

WorkerPool::WorkerPool(PoolConfig config, sandbox::Environment environment, std::size_t min_idle,
                       WorkerBudget& budget, asio::io_context& io, asio::thread_pool& blocking,
                       sandbox::Launcher& launcher, jupyter::KernelTransport& transport,
                       LostHandler on_lost)
    : config_(std::move(config)),
      environment_(std::move(environment)),
      min_idle_(min_idle),
      budget_(budget),
      io_(io),
      blocking_(blocking),
      launcher_(launcher),
      transport_(transport),
      on_lost_(std::move(on_lost)),
      metrics_{.start_seconds = metrics::Default().GetHistogram(
                   "code_interpreter_kernel_start_seconds",
                   "Kernel starts: time from a worker's launch to its kernel being ready.",
                   metrics::LatencyBuckets(), {{"environment", environment_.name}}),
               .start_failures = metrics::Default().GetCounter(
                   "code_interpreter_kernel_start_failures_total",
                   "Workers whose kernel did not start.", {{"environment", environment_.name}}),
               .oom_kills =
                   metrics::Default().GetCounter("code_interpreter_oom_kills_total",
                                                 "Kernels killed for reaching their memory limit.",
                                                 {{"environment", environment_.name}})},
      retry_timer_(io) {}

WorkerPool::~WorkerPool() = default;

// ---- the pool's life ---------------------------------------------------------------------

void WorkerPool::SweepStale(const std::filesystem::path& runtime_dir) {
  std::error_code ec;
  std::filesystem::create_directories(runtime_dir, ec);
  ::chmod(runtime_dir.c_str(), 0700);
  // Leftovers of a gateway that did not shut down cleanly.
  for (const auto& entry : std::filesystem::directory_iterator(runtime_dir, ec)) {
    if (entry.path().filename().string().rfind("w-", 0) == 0) {
      spdlog::info("removing stale worker directory {}", entry.path().string());
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

void WorkerPool::Start() {
  initializing_ = min_idle_ > 0;
  next_health_ = Clock::now() + config_.health_interval;
  TopUp();
}

void WorkerPool::StopStarting() {
  stopped_ = true;
  retry_timer_.cancel();
}

void WorkerPool::Shutdown() {
  StopStarting();
  waiters_.clear();
  std::vector<WorkerId> ids;
  for (const auto& [id, worker] : workers_) ids.push_back(id);
  for (const WorkerId id : ids) Destroy(id, "shutdown");
}

// ---- what Pool asks for ------------------------------------------------------------------

void WorkerPool::Request(std::string user, std::function<void(Grant)> done) {
  while (!idle_.empty()) {
    const WorkerId id = idle_.front();
    Worker& worker = *workers_.at(id);
    // A kernel that died in the pool is replaced, not handed out (the user would be told
    // of a lost state they never had).
    if (worker.sandbox && worker.sandbox->ExitStatus()) {
      OnWorkerExit(id);
      continue;
    }
    idle_.pop_front();
    Assign(id, user, std::move(done));
    return;
  }
  if (CountStarting() > waiters_.size()) {
    waiters_.push_back(Waiter{std::move(user), std::move(done)});
    return;
  }
  // Room held by another environment's idle worker is taken back.
  if (budget_.Full() && !backing_off_ && budget_.reclaim_idle) budget_.reclaim_idle();
  if (!budget_.Full() && !backing_off_) {
    waiters_.push_back(Waiter{std::move(user), std::move(done)});
    StartWorker();
    return;
  }
  done(std::unexpected(!budget_.Full()
                           ? "Workers are failing to start (last error: " + last_start_error_ +
                                 "); retrying, try again later"
                           : "All " + std::to_string(budget_.max_workers) +
                                 " workers are in use (max_workers reached); try again later"));
}

void WorkerPool::CancelRequest(const std::string& user) {
  std::erase_if(waiters_, [&user](const Waiter& waiter) { return waiter.user == user; });
}

void WorkerPool::Destroy(WorkerId id, const std::string& why) {
  if (!Forget(id, why)) return;
  TopUp();
  if (budget_.on_freed) budget_.on_freed();
}

bool WorkerPool::Forget(WorkerId id, const std::string& why) {
  const auto it = workers_.find(id);
  if (it == workers_.end()) return false;
  std::unique_ptr<Worker> worker = std::move(it->second);
  workers_.erase(it);
  --budget_.live;
  idle_.erase(std::remove(idle_.begin(), idle_.end(), id), idle_.end());
  transport_.Disconnect(id);
  if (worker->exit_watch) {
    boost::system::error_code ignored;
    worker->exit_watch->close(ignored);
  }
  spdlog::info("worker {} destroyed: {}", worker->name, why);
  asio::post(blocking_, [sandbox = std::move(worker->sandbox), dir = worker->dir]() mutable {
    if (sandbox) sandbox->Kill();
    sandbox.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  return true;
}

bool WorkerPool::ReclaimIdle() {
  if (idle_.empty()) return false;
  // Not refilled: the room goes to the pool that asked.
  return Forget(idle_.back(), "its room is needed by another environment's session");
}

void WorkerPool::SetExecuting(WorkerId id, bool executing) {
  if (Worker* worker = Find(id); worker != nullptr) {
    worker->state = executing ? State::kExecuting : State::kAssigned;
  }
}

void WorkerPool::NoticeExit(WorkerId id) {
  if (Worker* worker = Find(id);
      worker != nullptr && worker->sandbox && worker->sandbox->ExitStatus()) {
    OnWorkerExit(id);
  }
}

const std::string& WorkerPool::Name(WorkerId id) const { return workers_.at(id)->name; }

std::shared_ptr<sandbox::Sandbox> WorkerPool::SandboxOf(WorkerId id) const {
  const auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second->sandbox;
}

void WorkerPool::CheckHealth(Clock::time_point now) {
  if (now < next_health_) return;
  next_health_ = now + config_.health_interval;
  const auto timeout = std::min<milliseconds>(config_.health_interval, milliseconds(5000));
  for (const auto& [id, worker] : workers_) {
    if (worker->state != State::kIdle && worker->state != State::kAssigned) continue;
    transport_.Ping(id, timeout, [this, id = id](bool alive) {
      Worker* w = Find(id);
      if (alive || w == nullptr || w->state == State::kExecuting) return;
      spdlog::warn("worker {} missed its heartbeat", w->name);
      OnWorkerDead(id, "stopped answering heartbeats");
    });
  }
}

WorkerCounts WorkerPool::Counts() const {
  WorkerCounts counts;
  counts.total = workers_.size();
  for (const auto& [id, worker] : workers_) {
    switch (worker->state) {
      case State::kStarting:
        ++counts.starting;
        break;
      case State::kIdle:
        break;
      case State::kExecuting:
        ++counts.executing;
        [[fallthrough]];
      case State::kAssigned:
        ++counts.busy;
        break;
    }
  }
  counts.idle = idle_.size();
  counts.initializing = initializing_;
  return counts;
}

// ---- starting workers --------------------------------------------------------------------

WorkerPool::Worker* WorkerPool::Find(WorkerId id) {
  const auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

std::size_t WorkerPool::CountStarting() const {
  return static_cast<std::size_t>(
      std::count_if(workers_.begin(), workers_.end(),
                    [](const auto& w) { return w.second->state == State::kStarting; }));
}

// Workers already starting count towards `min_idle` only beyond those that waiting requests
// will take.
void WorkerPool::TopUp() {
  if (stopped_ || backing_off_) return;
  const std::size_t starting = CountStarting();
  std::size_t spare_starting = starting > waiters_.size() ? starting - waiters_.size() : 0;
  while (idle_.size() + spare_starting < min_idle_ && !budget_.Full()) {
    StartWorker();
    ++spare_starting;
  }
}

void WorkerPool::StartWorker() {
  auto worker = std::make_unique<Worker>();
  worker->id = ++budget_.next_id;
  ++budget_.live;
  worker->name = NameOf(worker->id);
  worker->dir = config_.runtime_dir / worker->name;
  worker->created = Clock::now();
  sandbox::WorkerSpec spec;
  spec.name = worker->name;
  spec.dir = worker->dir;
  spec.connection_file = worker->dir / "kernel.json";
  spec.python = config_.python;
  spec.environment = environment_;
  // A little over the gateway's own cap, so that the gateway still sees (and reports) that
  // output was cut.
  spec.stream_cap_chars = config_.output_limits.max_text_bytes + 4096;
  const WorkerId id = worker->id;
  workers_[id] = std::move(worker);
  asio::post(blocking_, [this, id, spec = std::move(spec)] {
    auto launched = Launch(spec);
    asio::post(io_,
               [this, id, launched = std::make_shared<decltype(launched)>(std::move(launched))] {
                 OnLaunched(id, std::move(*launched));
               });
  });
}

WorkerPool::Launched WorkerPool::Launch(const sandbox::WorkerSpec& base) {
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
  auto sandbox = launcher_.Launch(spec);
  if (!sandbox) return std::unexpected(sandbox.error());
  return std::pair{std::shared_ptr<sandbox::Sandbox>(std::move(*sandbox)), spec.connection};
}

void WorkerPool::OnLaunched(WorkerId id, Launched launched) {
  Worker* worker = Find(id);
  if (worker == nullptr) {  // destroyed (shutdown) while launching
    if (launched) launched->first->Kill();
    std::error_code ec;
    std::filesystem::remove_all(config_.runtime_dir / NameOf(id), ec);
    return;
  }
  if (!launched) {
    OnStartFailed(id, launched.error().message);
    return;
  }
  worker->sandbox = std::move(launched->first);
  spdlog::debug("worker {} launched ({})", worker->name, worker->sandbox->Describe());
  WatchExit(*worker);
  transport_.Connect(id, launched->second);
  transport_.WaitReady(id, config_.start_timeout,
                       [this, id](common::Result<void> ready) { OnReady(id, std::move(ready)); });
}

void WorkerPool::WatchExit(Worker& worker) {
  const int fd = ::fcntl(worker.sandbox->ExitFd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::error("worker {}: cannot watch for exit: {}", worker.name, std::strerror(errno));
    return;
  }
  worker.exit_watch = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  worker.exit_watch->async_wait(asio::posix::stream_descriptor::wait_read,
                                [this, id = worker.id](const boost::system::error_code& ec) {
                                  if (!ec) OnWorkerExit(id);
                                });
}

void WorkerPool::OnReady(WorkerId id, common::Result<void> ready) {
  Worker* worker = Find(id);
  if (worker == nullptr || worker->state != State::kStarting) return;
  if (!ready) {
    OnStartFailed(id, ready.error().message);
    return;
  }
  const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - worker->created).count();
  spdlog::info("worker {} ready in {} ms ({})", worker->name, ms, worker->sandbox->Describe());
  metrics_.start_seconds.Observe(static_cast<double>(ms) / 1000.0);
  start_failures_ = 0;
  worker->sandbox->OnKernelReady();
  worker->state = State::kIdle;
  HandOut(id);
}

// A ready worker goes to the oldest waiting request, else into the idle pool.
void WorkerPool::HandOut(WorkerId id) {
  if (!waiters_.empty()) {
    Waiter waiter = std::move(waiters_.front());
    waiters_.pop_front();
    Assign(id, waiter.user, std::move(waiter.done));
    return;
  }
  idle_.push_back(id);
  if (initializing_ && idle_.size() >= min_idle_) {
    initializing_ = false;
    spdlog::info("pool initialized: {} idle workers", idle_.size());
  }
}

// The refill comes before `done`, which may run code on the worker at once.
void WorkerPool::Assign(WorkerId id, const std::string& user, std::function<void(Grant)> done) {
  Worker& worker = *workers_.at(id);
  worker.state = State::kAssigned;
  worker.user = user;
  spdlog::info("user \"{}\" assigned worker {}", common::Printable(user, 64), worker.name);
  TopUp();
  done(id);
}

// ---- failures and deaths -----------------------------------------------------------------

// `reason` names the failure; the kernel's exit status is appended when it has one and
// the reason does not already say how the kernel ended.
void WorkerPool::OnStartFailed(WorkerId id, const std::string& reason, bool add_status) {
  Worker* worker = Find(id);
  std::string why = reason;
  if (add_status && worker != nullptr && worker->sandbox) {
    if (auto status = worker->sandbox->ExitStatus()) {
      why += " (kernel " + sandbox::DescribeExitStatus(*status) + ")";
    }
  }
  spdlog::error("worker {} failed to start: {}", worker ? worker->name : std::to_string(id), why);
  metrics_.start_failures.Add();
  backing_off_ = true;  // before Destroy, whose top-up must wait for the retry timer
  Destroy(id, "start failed");
  last_start_error_ = why;
  initializing_ = false;
  ++start_failures_;
  // Requests waiting for a worker that will not come are refused now, newest first.
  while (waiters_.size() > CountStarting()) {
    Waiter waiter = std::move(waiters_.back());
    waiters_.pop_back();
    waiter.done(std::unexpected("Could not start a worker: " + why));
  }
  // Back off so a broken setup does not spin: 0.25 s, 0.5 s, ... up to 30 s.
  const auto delay = std::min<milliseconds>(milliseconds(250) * (1 << std::min(start_failures_, 7)),
                                            milliseconds(30000));
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    backing_off_ = false;
    TopUp();
  });
}

void WorkerPool::OnWorkerExit(WorkerId id) {
  Worker* worker = Find(id);
  if (worker == nullptr) return;
  const auto status = worker->sandbox->ExitStatus();
  const std::string why =
      worker->sandbox->OutOfMemory()
          ? std::string("ran out of memory and was killed")
          : "exited (" + (status ? sandbox::DescribeExitStatus(*status) : "unknown status") + ")";
  spdlog::warn("worker {} {}", worker->name, why);
  if (worker->sandbox->OutOfMemory()) metrics_.oom_kills.Add();
  OnWorkerDead(id, why);
}

void WorkerPool::OnWorkerDead(WorkerId id, const std::string& why) {
  Worker* worker = Find(id);
  if (worker == nullptr) return;
  switch (worker->state) {
    case State::kStarting:
      OnStartFailed(id, "kernel " + why, /*add_status=*/false);
      return;
    case State::kIdle:
      Destroy(id, why);
      return;
    case State::kAssigned:
    case State::kExecuting:
      break;
  }
  const std::string user = worker->user;
  on_lost_(id, user, why);
  Destroy(id, why);
}

}  // namespace pool
