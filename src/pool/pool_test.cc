#include "pool/pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace pool {
namespace {

namespace asio = boost::asio;
using jupyter::ExecutionResult;
using jupyter::KernelId;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kExitCode1 = 1 << 8;  // waitpid-style status of `exit(1)`

// What the test sees of one sandbox. Shared with the FakeSandbox the pool owns (and destroys
// on its blocking executor), so it outlives it; Kill() runs there, hence the mutex.
class SandboxState {
 public:
  SandboxState() : exit_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  int ExitFd() const { return exit_fd_.Get(); }
  // Simulates the kernel process exiting: the exit fd becomes readable.
  void Die(int status) {
    {
      std::lock_guard lock(mu_);
      if (!status_) status_ = status;
    }
    (void)::eventfd_write(exit_fd_.Get(), 1);
  }
  void Kill() {
    {
      std::lock_guard lock(mu_);
      ++kills_;
    }
    Die(SIGKILL);
  }
  bool killed() const {
    std::lock_guard lock(mu_);
    return kills_ > 0;
  }
  std::optional<int> status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  // Workspace attachments, and whether the next one fails.
  common::Result<void> Attach(sandbox::HostWorkspace& workspace) {
    std::lock_guard lock(mu_);
    ++attaches_;
    attached_path_ = workspace.Path();
    if (fail_attach_) return common::Fail("fake attach failure");
    return {};
  }
  mutable std::atomic<std::uint64_t> cpu_ns{0};  // grows 7 ms at every read
  int attaches() const {
    std::lock_guard lock(mu_);
    return attaches_;
  }
  std::filesystem::path attached_path() const {
    std::lock_guard lock(mu_);
    return attached_path_;
  }
  void FailAttach() {
    std::lock_guard lock(mu_);
    fail_attach_ = true;
  }

 private:
  int attaches_ = 0;
  bool fail_attach_ = false;
  std::filesystem::path attached_path_;
  mutable std::mutex mu_;
  common::UniqueFd exit_fd_;
  int kills_ = 0;
  std::optional<int> status_;  // set once "dead"
};

class FakeSandbox final : public sandbox::Sandbox {
 public:
  explicit FakeSandbox(std::shared_ptr<SandboxState> state) : state_(std::move(state)) {}
  int ExitFd() const override { return state_->ExitFd(); }
  void Kill() override { state_->Kill(); }
  std::optional<int> ExitStatus() override { return state_->status(); }
  common::Result<void> AttachWorkspace(sandbox::HostWorkspace& workspace) override {
    return state_->Attach(workspace);
  }
  std::optional<sandbox::ResourceUsage> Usage() const override {
    return sandbox::ResourceUsage{state_->cpu_ns.fetch_add(7'000'000), 42u << 20};
  }
  std::string Describe() const override { return "fake"; }

 private:
  std::shared_ptr<SandboxState> state_;
};

// Called on the pool's blocking threads, inspected on the test thread.
class FakeLauncher final : public sandbox::Launcher {
 public:
  std::string Name() const override { return "fake"; }
  common::Result<std::unique_ptr<sandbox::Sandbox>> Launch(
      const sandbox::WorkerSpec& spec) override {
    std::lock_guard lock(mu_);
    ++launches_;
    if (failures_ > 0) {
      --failures_;
      return common::Fail("fake launch failure");
    }
    auto state = std::make_shared<SandboxState>();
    sandboxes_[spec.name] = state;
    return std::make_unique<FakeSandbox>(state);
  }
  // Plain directories, only for tests that turn workspaces on.
  common::Result<std::shared_ptr<sandbox::HostWorkspace>> CreateWorkspace(
      const std::filesystem::path& path, std::uint64_t /*bytes*/) override {
    return sandbox::HostWorkspace::Create(path, false, {}, {});
  }
  std::string NoWorkspaces() const override {
    std::lock_guard lock(mu_);
    return workspaces_ ? std::string() : "off in this test";
  }
  void EnableWorkspaces() {
    std::lock_guard lock(mu_);
    workspaces_ = true;
  }

  void FailNext(int launches) {
    std::lock_guard lock(mu_);
    failures_ = launches;
  }
  int launches() const {
    std::lock_guard lock(mu_);
    return launches_;
  }
  // The sandbox of worker `id` (the pool names workers "w-<id>"), or null.
  std::shared_ptr<SandboxState> sandbox(KernelId id) const {
    std::lock_guard lock(mu_);
    const auto it = sandboxes_.find("w-" + std::to_string(id));
    return it == sandboxes_.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<SandboxState>> all() const {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<SandboxState>> states;
    for (const auto& [name, state] : sandboxes_) states.push_back(state);
    return states;
  }

 private:
  mutable std::mutex mu_;
  int launches_ = 0;
  int failures_ = 0;
  bool workspaces_ = false;
  std::map<std::string, std::shared_ptr<SandboxState>> sandboxes_;
};

// Records every call; the test decides when WaitReady, Execute and Ping complete. Like the
// real hub, completions caused by a pool call (Disconnect, a busy kernel) are posted.
class FakeTransport final : public jupyter::KernelTransport {
 public:
  struct ExecuteCall {
    KernelId id;
    std::string code;
  };

  explicit FakeTransport(asio::io_context& io) : io_(io) {}

  void Connect(KernelId id, const jupyter::ConnectionInfo& /*info*/) override {
    connects.push_back(id);
    connected_.insert(id);
  }
  void Disconnect(KernelId id) override {
    disconnects.push_back(id);
    connected_.erase(id);
    if (auto done = Take(ready_, id)) {
      asio::post(io_, [done] { done(common::Fail("disconnected")); });
    }
    if (auto done = Take(running_, id)) {
      asio::post(io_, [done] { done(DisconnectedResult()); });
    }
    if (auto done = Take(pings_, id)) asio::post(io_, [done] { done(false); });
  }
  void WaitReady(KernelId id, milliseconds /*timeout*/,
                 std::function<void(common::Result<void>)> done) override {
    ready_[id] = std::move(done);
  }
  void Execute(KernelId id, std::string code, jupyter::OutputLimits /*limits*/,
               jupyter::EventSink on_event, std::function<void(ExecutionResult)> done) override {
    executes.push_back({id, code});
    sinks_[id] = std::move(on_event);
    if (!connected_.contains(id) || running_.contains(id)) {
      ADD_FAILURE() << "Execute on kernel " << id << " that is unknown or busy";
      ExecutionResult result;
      result.disconnected = !connected_.contains(id);
      result.status = result.disconnected ? "" : "busy";
      asio::post(io_, [done = std::move(done), result] { done(result); });
      return;
    }
    running_[id] = std::move(done);
  }
  void Interrupt(KernelId id) override { interrupts.push_back(id); }
  void Shutdown(KernelId /*id*/) override {}
  void Ping(KernelId id, milliseconds /*timeout*/, std::function<void(bool)> done) override {
    pings_[id] = std::move(done);
  }

  bool AwaitingReady(KernelId id) const { return ready_.contains(id); }
  bool Running(KernelId id) const { return running_.contains(id); }
  bool Pinged(KernelId id) const { return pings_.contains(id); }
  bool Disconnected(KernelId id) const {
    return std::ranges::find(disconnects, id) != disconnects.end();
  }
  // Completions decided by the test; they run on the test thread, which runs the io_context.
  void Ready(KernelId id) { Take(ready_, id)(common::Result<void>{}); }
  void FailReady(KernelId id) { Take(ready_, id)(common::Fail("kernel_info timed out")); }
  void Complete(KernelId id, ExecutionResult result) { Take(running_, id)(std::move(result)); }
  // An event of the running execution, as the hub would hand it over.
  void Emit(KernelId id, const jupyter::ExecutionEvent& event) {
    if (sinks_[id]) sinks_[id](event);
  }
  void Pong(KernelId id, bool alive) { Take(pings_, id)(alive); }

  std::vector<KernelId> connects;
  std::vector<KernelId> disconnects;
  std::vector<KernelId> interrupts;
  std::vector<ExecuteCall> executes;

 private:
  static ExecutionResult DisconnectedResult() {
    ExecutionResult result;
    result.disconnected = true;
    return result;
  }
  template <typename F>
  static F Take(std::map<KernelId, F>& pending, KernelId id) {
    const auto it = pending.find(id);
    if (it == pending.end()) return nullptr;
    F done = std::move(it->second);
    pending.erase(it);
    return done;
  }

  asio::io_context& io_;
  std::set<KernelId> connected_;
  std::map<KernelId, std::function<void(common::Result<void>)>> ready_;
  std::map<KernelId, std::function<void(ExecutionResult)>> running_;
  std::map<KernelId, jupyter::EventSink> sinks_;
  std::map<KernelId, std::function<void(bool)>> pings_;
};

ExecutionResult Ok(std::string stdout_text = "") {
  ExecutionResult result;
  result.status = "ok";
  result.stdout_text = std::move(stdout_text);
  result.got_reply = result.got_idle = true;
  return result;
}

ExecutionResult Interrupted() {
  ExecutionResult result = Ok();
  result.status = "error";
  result.error = jupyter::ExecutionError{"KeyboardInterrupt", "", {}};
  return result;
}

// One Execute call's answer(s).
struct Reply {
  int calls = 0;
  ExecuteOutcome outcome;
  bool done() const { return calls > 0; }
};

class PoolTest : public ::testing::Test {
 protected:
  PoolTest() {
    spdlog::set_level(spdlog::level::off);  // failed starts and dead kernels are expected here
    std::string dir = (std::filesystem::temp_directory_path() / "pool_test.XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = dir;
  }

  ~PoolTest() override {
    if (pool_) pool_->Shutdown();
    JoinBlocking();
    pool_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  PoolConfig Config(std::size_t min_idle) const {
    PoolConfig config;
    config.min_idle = min_idle;
    config.max_workers = 4;
    config.runtime_dir = dir_;
    return config;
  }

  void StartPool(PoolConfig config) {
    pool_ = std::make_unique<Pool>(std::move(config), io_, blocking_, launcher_, transport_);
    pool_->Start();
  }

  // Runs the io_context until `condition` holds; false after 10 s (a test failure, not a wait).
  bool RunUntil(const std::function<bool()>& condition) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!condition()) {
      if (Clock::now() > deadline) return false;
      io_.run_one_for(milliseconds(5));
    }
    return true;
  }

  // Waits until worker `id` is launched and connected, then reports it ready.
  bool MakeReady(KernelId id) {
    if (!RunUntil([&] { return transport_.AwaitingReady(id); })) return false;
    transport_.Ready(id);
    return true;
  }

  bool Killed(KernelId id) {
    return RunUntil([&] {
      const auto sandbox = launcher_.sandbox(id);
      return sandbox != nullptr && sandbox->killed();
    });
  }

  std::shared_ptr<Reply> Exec(const std::string& user, std::string code = "x",
                              std::uint64_t ticket = 0) {
    auto reply = std::make_shared<Reply>();
    pool_->Execute(
        {.user = user, .code = std::move(code), .timeout = std::nullopt, .ticket = ticket},
        [reply](ExecuteOutcome outcome) {
          ++reply->calls;
          reply->outcome = std::move(outcome);
        });
    return reply;
  }

  // The pool's blocking work is finished, and what it posted back has run.
  void JoinBlocking() {
    blocking_.join();
    Drain();
  }

  // Runs every handler that is ready now, and those they make ready.
  void Drain() {
    while (io_.poll() > 0) {
    }
  }

  KernelId LastExecuteId() const { return transport_.executes.back().id; }

  std::filesystem::path dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  asio::thread_pool blocking_{1};
  FakeLauncher launcher_;
  FakeTransport transport_{io_};
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolTest, StartWarmsMinIdleWorkersAndIsInitializingUntilTheyAreReady) {
  StartPool(Config(2));
  EXPECT_TRUE(pool_->Status().is_initializing);
  EXPECT_EQ(pool_->Status().starting_workers, 2u);

  ASSERT_TRUE(MakeReady(1));
  EXPECT_TRUE(pool_->Status().is_initializing);
  ASSERT_TRUE(MakeReady(2));

  const PoolStatus status = pool_->Status();
  EXPECT_FALSE(status.is_initializing);
  EXPECT_EQ(status.idle_workers_in_pool, 2u);
  EXPECT_EQ(status.total_workers, 2u);
  EXPECT_EQ(status.starting_workers, 0u);
  EXPECT_EQ(status.sessions, 0u);
  EXPECT_EQ(status.sandbox, "fake");
  EXPECT_EQ(launcher_.launches(), 2);
  EXPECT_EQ(transport_.connects, (std::vector<KernelId>{1, 2}));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "w-1" / "kernel.json"));
}

TEST_F(PoolTest, NewUserGetsAnIdleWorkerAtOnceAndThePoolRefills) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));

  auto reply = Exec("alice", "print(2)");
  ASSERT_EQ(transport_.executes.size(), 1u);  // issued synchronously, no launch awaited
  EXPECT_EQ(transport_.executes[0].id, 1u);
  EXPECT_EQ(transport_.executes[0].code, "print(2)");
  EXPECT_EQ(pool_->Status().executing_workers, 1u);

  ASSERT_TRUE(RunUntil([&] { return launcher_.launches() == 2; }));
  ASSERT_TRUE(MakeReady(2));
  EXPECT_EQ(pool_->Status().idle_workers_in_pool, 1u);

  transport_.Complete(1, Ok("2\n"));
  ASSERT_TRUE(reply->done());
  EXPECT_EQ(reply->outcome.outcome, Outcome::kCompleted);
  EXPECT_EQ(reply->outcome.result.stdout_text, "2\n");
  EXPECT_TRUE(reply->outcome.state_preserved);
  EXPECT_TRUE(reply->outcome.notice.empty());
}

TEST_F(PoolTest, UsageIsTheSandboxsDifferenceOverTheExecution) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  auto reply = Exec("alice");
  transport_.Complete(1, Ok());
  ASSERT_TRUE(reply->done());
  ASSERT_TRUE(reply->outcome.usage.has_value());
  EXPECT_DOUBLE_EQ(reply->outcome.usage->cpu_ms, 7.0);  // one read before, one after
  EXPECT_DOUBLE_EQ(reply->outcome.usage->peak_memory_mb, 42.0);
}

TEST_F(PoolTest, SameUserKeepsItsWorker) {
  StartPool(Config(2));
  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));

  auto first = Exec("alice");
  auto second = Exec("alice");  // waits for the first, on the same worker
  ASSERT_EQ(transport_.executes.size(), 1u);
  transport_.Complete(LastExecuteId(), Ok());
  ASSERT_EQ(transport_.executes.size(), 2u);
  transport_.Complete(LastExecuteId(), Ok());
  auto third = Exec("alice");
  transport_.Complete(LastExecuteId(), Ok());

  ASSERT_EQ(transport_.executes.size(), 3u);
  EXPECT_EQ(transport_.executes[1].id, transport_.executes[0].id);
  EXPECT_EQ(transport_.executes[2].id, transport_.executes[0].id);
  for (const auto& reply : {first, second, third}) {
    EXPECT_EQ(reply->outcome.outcome, Outcome::kCompleted);
  }
  EXPECT_EQ(pool_->Status().sessions, 1u);
  EXPECT_EQ(pool_->Status().busy_workers, 1u);
}

TEST_F(PoolTest, BackToBackExecutionsOfANewUserShareOneWorkerAndRunInOrder) {
  StartPool(Config(2));
  auto first = Exec("alice", "first");
  auto second = Exec("alice", "second");

  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));
  ASSERT_EQ(transport_.executes.size(), 1u);
  EXPECT_EQ(transport_.executes[0].code, "first");
  const KernelId worker = transport_.executes[0].id;
  EXPECT_EQ(pool_->Status().busy_workers, 1u);

  transport_.Complete(worker, Ok());
  EXPECT_TRUE(first->done());
  EXPECT_FALSE(second->done());
  ASSERT_EQ(transport_.executes.size(), 2u);
  EXPECT_EQ(transport_.executes[1].id, worker);
  EXPECT_EQ(transport_.executes[1].code, "second");

  transport_.Complete(worker, Ok());
  EXPECT_EQ(second->outcome.outcome, Outcome::kCompleted);
  EXPECT_EQ(first->calls + second->calls, 2);
  EXPECT_EQ(pool_->Status().busy_workers, 1u);
}

TEST_F(PoolTest, DifferentUsersGetDifferentWorkers) {
  StartPool(Config(2));
  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));

  Exec("alice");
  Exec("bob");
  ASSERT_EQ(transport_.executes.size(), 2u);
  EXPECT_NE(transport_.executes[0].id, transport_.executes[1].id);
  EXPECT_EQ(pool_->Status().sessions, 2u);
  EXPECT_EQ(pool_->Status().executing_workers, 2u);
}

TEST_F(PoolTest, EmptyPoolUnderTheCapStartsAWorkerOnDemand) {
  StartPool(Config(0));
  EXPECT_FALSE(pool_->Status().is_initializing);
  EXPECT_EQ(pool_->Status().total_workers, 0u);

  auto reply = Exec("alice");
  EXPECT_EQ(pool_->Status().starting_workers, 1u);
  ASSERT_TRUE(MakeReady(1));
  ASSERT_EQ(transport_.executes.size(), 1u);
  EXPECT_EQ(transport_.executes[0].id, 1u);
  transport_.Complete(1, Ok());
  EXPECT_EQ(reply->outcome.outcome, Outcome::kCompleted);
  EXPECT_EQ(launcher_.launches(), 1);
}

TEST_F(PoolTest, MaxWorkersReachedAnswersNoCapacity) {
  PoolConfig config = Config(1);
  config.max_workers = 1;
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));
  auto alice = Exec("alice");
  EXPECT_EQ(pool_->Status().starting_workers, 0u);  // no refill beyond the cap

  auto bob = Exec("bob");
  ASSERT_TRUE(bob->done());
  EXPECT_EQ(bob->outcome.outcome, Outcome::kNoCapacity);
  EXPECT_GT(bob->outcome.retry_after_seconds, 0);
  EXPECT_FALSE(bob->outcome.detail.empty());
  EXPECT_FALSE(alice->done());
  EXPECT_EQ(pool_->Status().sessions, 1u);
}

TEST_F(PoolTest, QueueLimitAnswersQueueFull) {
  PoolConfig config = Config(1);
  config.queue_limit = 1;
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));

  auto running = Exec("alice");
  auto queued = Exec("alice");
  auto refused = Exec("alice");
  ASSERT_TRUE(refused->done());
  EXPECT_EQ(refused->outcome.outcome, Outcome::kQueueFull);
  EXPECT_GT(refused->outcome.retry_after_seconds, 0);
  EXPECT_FALSE(running->done());
  EXPECT_FALSE(queued->done());
  EXPECT_EQ(transport_.executes.size(), 1u);

  transport_.Complete(1, Ok());
  transport_.Complete(1, Ok());
  EXPECT_EQ(queued->outcome.outcome, Outcome::kCompleted);
}

TEST_F(PoolTest, TimeoutInterruptsAndKeepsStateWhenTheKernelStops) {
  PoolConfig config = Config(1);
  config.limits.timeout = milliseconds(50);
  config.interrupt_grace = milliseconds(60 * 1000);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));

  auto reply = Exec("alice", "while True: pass");
  ASSERT_TRUE(RunUntil([&] { return !transport_.interrupts.empty(); }));
  EXPECT_EQ(transport_.interrupts, (std::vector<KernelId>{1}));
  EXPECT_FALSE(reply->done());

  transport_.Complete(1, Interrupted());
  ASSERT_TRUE(reply->done());
  EXPECT_EQ(reply->outcome.outcome, Outcome::kTimedOut);
  EXPECT_TRUE(reply->outcome.state_preserved);
  EXPECT_EQ(reply->outcome.timeout, milliseconds(50));
  EXPECT_FALSE(reply->outcome.detail.empty());
  EXPECT_FALSE(transport_.Disconnected(1));

  Exec("alice");
  EXPECT_EQ(LastExecuteId(), 1u);
}

TEST_F(PoolTest, TimeoutReplacesTheKernelWhenTheInterruptDoesNotTake) {
  PoolConfig config = Config(1);
  config.limits.timeout = milliseconds(50);
  config.interrupt_grace = milliseconds(50);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));

  auto reply = Exec("alice", "while True: pass");
  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kTimedOut);
  EXPECT_FALSE(reply->outcome.state_preserved);
  EXPECT_EQ(transport_.interrupts, (std::vector<KernelId>{1}));
  EXPECT_TRUE(transport_.Disconnected(1));
  EXPECT_TRUE(Killed(1));

  ASSERT_TRUE(MakeReady(2));
  auto next = Exec("alice");
  EXPECT_EQ(LastExecuteId(), 2u);
  transport_.Complete(2, Ok());
  EXPECT_EQ(next->outcome.outcome, Outcome::kCompleted);
  EXPECT_TRUE(next->outcome.state_preserved);  // the loss was already reported
  EXPECT_EQ(reply->calls, 1);
}

TEST_F(PoolTest, AbandonedRunningExecutionIsInterruptedAndTheSessionKept) {
  PoolConfig config = Config(1);
  config.interrupt_grace = milliseconds(60 * 1000);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));

  auto reply = Exec("alice", "import time; time.sleep(60)", 7);
  pool_->Abandon(8);  // someone else's ticket: nothing happens
  pool_->Abandon(0);
  EXPECT_TRUE(transport_.interrupts.empty());
  pool_->Abandon(7);
  EXPECT_EQ(transport_.interrupts, (std::vector<KernelId>{1}));
  pool_->Abandon(7);  // a second hang-up notice does not interrupt again
  EXPECT_EQ(transport_.interrupts.size(), 1u);
  EXPECT_FALSE(reply->done());

  transport_.Complete(1, Interrupted());
  ASSERT_TRUE(reply->done());
  EXPECT_EQ(reply->outcome.outcome, Outcome::kAbandoned);
  EXPECT_FALSE(transport_.Disconnected(1));
  auto next = Exec("alice");
  EXPECT_EQ(LastExecuteId(), 1u);  // the same kernel, state kept
  transport_.Complete(1, Ok());
  EXPECT_TRUE(next->outcome.state_preserved);
  EXPECT_TRUE(next->outcome.notice.empty());
}

TEST_F(PoolTest, AnInterruptOnRequestKeepsStateAndTheQueueRunsOn) {
  PoolConfig config = Config(1);
  config.interrupt_grace = milliseconds(60 * 1000);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));
  EXPECT_FALSE(pool_->Interrupt("alice")) << "no session";

  auto running = Exec("alice", "import time; time.sleep(60)");
  auto queued = Exec("alice", "after");
  EXPECT_FALSE(pool_->Interrupt("bob"));
  EXPECT_TRUE(pool_->Interrupt("alice"));
  EXPECT_EQ(transport_.interrupts, (std::vector<KernelId>{1}));
  EXPECT_TRUE(pool_->Interrupt("alice")) << "still running, being interrupted";
  EXPECT_EQ(transport_.interrupts.size(), 1u) << "one interrupt is sent";

  transport_.Complete(1, Interrupted());
  ASSERT_TRUE(running->done());
  EXPECT_EQ(running->outcome.outcome, Outcome::kInterrupted);
  EXPECT_TRUE(running->outcome.state_preserved);
  EXPECT_NE(running->outcome.detail.find("on request"), std::string::npos);
  EXPECT_FALSE(queued->done());
  EXPECT_EQ(LastExecuteId(), 1u) << "the queued execution runs next, on the same kernel";
  transport_.Complete(1, Ok());
  EXPECT_EQ(queued->outcome.outcome, Outcome::kCompleted);
  EXPECT_FALSE(pool_->Interrupt("alice")) << "idle again";
}

TEST_F(PoolTest, AnInterruptOnRequestThatDoesNotTakeReplacesTheKernel) {
  PoolConfig config = Config(1);
  config.interrupt_grace = milliseconds(50);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));

  auto reply = Exec("alice", "while True: pass");
  EXPECT_TRUE(pool_->Interrupt("alice"));
  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kInterrupted);
  EXPECT_FALSE(reply->outcome.state_preserved);
  EXPECT_NE(reply->outcome.detail.find("state was lost"), std::string::npos);
  EXPECT_TRUE(Killed(1));
}

TEST_F(PoolTest, AbandonedExecutionWhoseInterruptFailsReportsTheLossWithTheNextResponse) {
  PoolConfig config = Config(1);
  config.interrupt_grace = milliseconds(50);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));

  auto reply = Exec("alice", "while True: pass", 3);
  pool_->Abandon(3);
  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kAbandoned);
  EXPECT_TRUE(Killed(1));

  ASSERT_TRUE(MakeReady(2));
  auto next = Exec("alice");
  transport_.Complete(2, Ok());
  ASSERT_TRUE(next->done());
  EXPECT_FALSE(next->outcome.state_preserved);
  EXPECT_NE(next->outcome.notice.find("client disconnected"), std::string::npos)
      << next->outcome.notice;
}

TEST_F(PoolTest, AbandonedQueuedExecutionIsDroppedWithoutRunning) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));

  auto first = Exec("alice", "first", 1);
  auto second = Exec("alice", "second", 2);
  auto third = Exec("alice", "third", 3);
  pool_->Abandon(2);
  ASSERT_TRUE(second->done());
  EXPECT_EQ(second->outcome.outcome, Outcome::kAbandoned);
  EXPECT_TRUE(transport_.interrupts.empty());

  transport_.Complete(1, Ok());
  ASSERT_TRUE(first->done());
  ASSERT_EQ(transport_.executes.size(), 2u);
  EXPECT_EQ(transport_.executes.back().code, "third");
  transport_.Complete(1, Ok());
  EXPECT_EQ(third->outcome.outcome, Outcome::kCompleted);
  EXPECT_EQ(second->calls, 1);
}

TEST_F(PoolTest, KernelDyingDuringExecutionAnswersKernelDied) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  auto reply = Exec("alice");

  launcher_.sandbox(1)->Die(kExitCode1);
  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kKernelDied);
  EXPECT_FALSE(reply->outcome.state_preserved);
  EXPECT_NE(reply->outcome.detail.find("exit code 1"), std::string::npos) << reply->outcome.detail;
  EXPECT_TRUE(transport_.Disconnected(1));
  EXPECT_TRUE(Killed(1));

  ASSERT_TRUE(MakeReady(2));
  auto next = Exec("alice");
  EXPECT_EQ(LastExecuteId(), 2u);
  transport_.Complete(2, Ok());
  EXPECT_EQ(next->outcome.outcome, Outcome::kCompleted);
  EXPECT_EQ(reply->calls, 1);
}

TEST_F(PoolTest, AReplacedBusyKernelIsMadeUpForAtTheCap) {
  PoolConfig config = Config(2);
  config.max_workers = 2;
  config.limits.timeout = milliseconds(50);
  config.interrupt_grace = milliseconds(50);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));
  auto alice = Exec("alice", "while True: pass");
  auto bob = Exec("bob");
  ASSERT_EQ(pool_->Status().idle_workers_in_pool, 0u);
  EXPECT_EQ(launcher_.launches(), 2);  // at the cap: nothing to start

  // Bob's kernel dies, Alice's ignores its interrupt: both are replaced, and the pool
  // starts workers for the freed slots without waiting for a new request.
  launcher_.sandbox(2)->Die(kExitCode1);
  ASSERT_TRUE(RunUntil([&] { return bob->done() && alice->done(); }));
  EXPECT_EQ(alice->outcome.outcome, Outcome::kTimedOut);
  EXPECT_FALSE(alice->outcome.state_preserved);
  EXPECT_EQ(bob->outcome.outcome, Outcome::kKernelDied);
  ASSERT_TRUE(RunUntil([&] { return launcher_.launches() == 4; }));
  ASSERT_TRUE(MakeReady(3));
  ASSERT_TRUE(MakeReady(4));
  EXPECT_EQ(pool_->Status().idle_workers_in_pool, 2u);
}

TEST_F(PoolTest, KernelDyingWhileIdleIsReportedWithTheNextResponseOnly) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  Exec("alice");
  transport_.Complete(1, Ok());

  launcher_.sandbox(1)->Die(kExitCode1);
  ASSERT_TRUE(RunUntil([&] { return transport_.Disconnected(1); }));
  EXPECT_EQ(pool_->Status().sessions, 1u);

  ASSERT_TRUE(MakeReady(2));
  auto after_loss = Exec("alice");
  ASSERT_EQ(LastExecuteId(), 2u);
  transport_.Complete(2, Ok());
  EXPECT_EQ(after_loss->outcome.outcome, Outcome::kCompleted);
  EXPECT_FALSE(after_loss->outcome.state_preserved);
  EXPECT_FALSE(after_loss->outcome.notice.empty());

  auto later = Exec("alice");
  ASSERT_EQ(LastExecuteId(), 2u);
  transport_.Complete(2, Ok());
  EXPECT_TRUE(later->outcome.state_preserved);
  EXPECT_TRUE(later->outcome.notice.empty());
}

TEST_F(PoolTest, KernelDeathNotYetNoticedIsCaughtBeforeDispatch) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  Exec("alice");
  transport_.Complete(1, Ok());
  ASSERT_TRUE(MakeReady(2));

  launcher_.sandbox(1)->Die(kExitCode1);  // the io_context has not seen the exit fd yet
  auto reply = Exec("alice");
  ASSERT_EQ(LastExecuteId(), 2u);
  EXPECT_TRUE(transport_.Disconnected(1));
  transport_.Complete(2, Ok());
  EXPECT_FALSE(reply->outcome.state_preserved);
  EXPECT_FALSE(reply->outcome.notice.empty());
}

TEST_F(PoolTest, UnnoticedDeadIdleWorkerIsNotGivenToANewUser) {
  StartPool(Config(2));
  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));

  launcher_.sandbox(1)->Die(kExitCode1);  // the io_context has not seen the exit fd yet
  auto reply = Exec("alice");
  ASSERT_EQ(transport_.executes.size(), 1u);
  EXPECT_EQ(LastExecuteId(), 2u);
  transport_.Complete(2, Ok());
  EXPECT_EQ(reply->outcome.outcome, Outcome::kCompleted);
  EXPECT_TRUE(reply->outcome.state_preserved);  // a new session had no state to lose
  EXPECT_TRUE(reply->outcome.notice.empty()) << reply->outcome.notice;
}

TEST_F(PoolTest, IdleWorkerThatDiesIsReplaced) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));

  launcher_.sandbox(1)->Die(kExitCode1);
  ASSERT_TRUE(RunUntil([&] { return transport_.Disconnected(1); }));
  EXPECT_EQ(pool_->Status().idle_workers_in_pool, 0u);
  ASSERT_TRUE(MakeReady(2));
  EXPECT_EQ(pool_->Status().idle_workers_in_pool, 1u);
  Exec("alice");
  EXPECT_EQ(LastExecuteId(), 2u);
}

TEST_F(PoolTest, MissedHeartbeatOnAnAssignedWorkerLosesTheSessionState) {
  PoolConfig config = Config(1);
  config.health_interval = milliseconds(10);  // checked on the pool's 1 s tick
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));
  Exec("alice");
  transport_.Complete(1, Ok());

  ASSERT_TRUE(RunUntil([&] { return transport_.Pinged(1); }));
  transport_.Pong(1, false);
  EXPECT_TRUE(transport_.Disconnected(1));
  EXPECT_TRUE(Killed(1));

  ASSERT_TRUE(MakeReady(2));
  auto reply = Exec("alice");
  ASSERT_EQ(LastExecuteId(), 2u);
  transport_.Complete(2, Ok());
  EXPECT_FALSE(reply->outcome.state_preserved);
  EXPECT_FALSE(reply->outcome.notice.empty());
}

TEST_F(PoolTest, ReleaseDestroysTheWorkerAndAnswersItsExecutions) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  auto running = Exec("alice");
  auto queued = Exec("alice");

  EXPECT_TRUE(pool_->Release("alice"));
  ASSERT_TRUE(running->done());
  ASSERT_TRUE(queued->done());
  EXPECT_EQ(running->outcome.outcome, Outcome::kReleased);
  EXPECT_EQ(queued->outcome.outcome, Outcome::kReleased);
  EXPECT_TRUE(transport_.Disconnected(1));
  EXPECT_TRUE(Killed(1));
  EXPECT_EQ(pool_->Status().sessions, 0u);

  // The disconnected execution's late completion is not answered a second time.
  Drain();
  EXPECT_EQ(running->calls, 1);
  EXPECT_EQ(queued->calls, 1);
  EXPECT_EQ(transport_.executes.size(), 1u);

  EXPECT_FALSE(pool_->Release("alice"));
  EXPECT_FALSE(pool_->Release("nobody"));
}

TEST_F(PoolTest, ReapIdleEndsIdleSessionsAndKeepsRunningOnes) {
  const PoolConfig config = Config(2);
  StartPool(config);
  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));
  Exec("alice");
  const KernelId alice_worker = LastExecuteId();
  transport_.Complete(alice_worker, Ok());
  auto bob = Exec("bob");
  const KernelId bob_worker = LastExecuteId();

  pool_->ReapIdle(Clock::now() + config.idle_timeout + std::chrono::seconds(1));
  EXPECT_EQ(pool_->Status().sessions, 1u);
  EXPECT_TRUE(transport_.Disconnected(alice_worker));
  EXPECT_TRUE(Killed(alice_worker));
  EXPECT_FALSE(transport_.Disconnected(bob_worker));
  EXPECT_FALSE(bob->done());

  transport_.Complete(bob_worker, Ok());
  EXPECT_EQ(bob->outcome.outcome, Outcome::kCompleted);
  EXPECT_FALSE(launcher_.sandbox(bob_worker)->killed());
}

TEST_F(PoolTest, FailedLaunchAnswersTheWaitingUserAndIsRetried) {
  launcher_.FailNext(1);
  StartPool(Config(1));
  auto reply = Exec("alice");  // waits for the warming worker, whose launch fails

  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kNoCapacity);
  EXPECT_GT(reply->outcome.retry_after_seconds, 0);
  EXPECT_NE(reply->outcome.detail.find("fake launch failure"), std::string::npos);
  EXPECT_EQ(pool_->Status().total_workers, 0u);
  EXPECT_FALSE(pool_->Status().is_initializing);

  ASSERT_TRUE(MakeReady(2));  // launched again after the back-off
  EXPECT_EQ(launcher_.launches(), 2);
  EXPECT_EQ(pool_->Status().idle_workers_in_pool, 1u);
  Exec("alice");
  EXPECT_EQ(LastExecuteId(), 2u);
  EXPECT_EQ(reply->calls, 1);
}

TEST_F(PoolTest, WaitReadyFailureDestroysTheWorker) {
  StartPool(Config(1));
  ASSERT_TRUE(RunUntil([&] { return transport_.AwaitingReady(1); }));
  transport_.FailReady(1);

  EXPECT_TRUE(transport_.Disconnected(1));
  EXPECT_TRUE(Killed(1));
  EXPECT_EQ(pool_->Status().total_workers, 0u);
  EXPECT_EQ(pool_->Status().idle_workers_in_pool, 0u);
  ASSERT_TRUE(MakeReady(2));  // replaced after the back-off
}

TEST_F(PoolTest, ShutdownAnswersExecutionsAndKillsEverySandbox) {
  StartPool(Config(2));
  ASSERT_TRUE(MakeReady(1));
  ASSERT_TRUE(MakeReady(2));
  auto running = Exec("alice");
  auto queued = Exec("alice");
  Exec("bob");
  transport_.Complete(LastExecuteId(), Ok());  // bob's session is idle

  pool_->Shutdown();
  ASSERT_TRUE(running->done());
  ASSERT_TRUE(queued->done());
  EXPECT_EQ(running->outcome.outcome, Outcome::kShuttingDown);
  EXPECT_EQ(queued->outcome.outcome, Outcome::kShuttingDown);
  EXPECT_GT(running->outcome.retry_after_seconds, 0);
  EXPECT_EQ(pool_->Status().total_workers, 0u);
  EXPECT_EQ(pool_->Status().sessions, 0u);

  JoinBlocking();
  const auto sandboxes = launcher_.all();
  EXPECT_EQ(sandboxes.size(), static_cast<std::size_t>(launcher_.launches()));
  for (const auto& sandbox : sandboxes) EXPECT_TRUE(sandbox->killed());
  EXPECT_EQ(running->calls, 1);

  auto late = Exec("carol");
  ASSERT_TRUE(late->done());
  EXPECT_EQ(late->outcome.outcome, Outcome::kShuttingDown);
}

TEST_F(PoolTest, ShutdownKillsAWorkerWhoseLaunchIsStillUnderWay) {
  StartPool(Config(1));
  pool_->Shutdown();  // the launch runs (or has run) on the blocking pool; not yet reported
  JoinBlocking();
  ASSERT_EQ(launcher_.launches(), 1);
  EXPECT_TRUE(launcher_.sandbox(1)->killed());
  EXPECT_TRUE(transport_.connects.empty());
}

TEST_F(PoolTest, AnExecutionReportsItsStartAndForwardsItsEventsBeforeItsAnswer) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  std::vector<std::string> seen;
  pool_->Execute(
      {.user = "alice",
       .code = "print('hi')",
       .timeout = std::nullopt,
       .ticket = 0,
       .on_start = [&](const std::string& worker) { seen.push_back("start " + worker); },
       .on_event =
           [&](const jupyter::ExecutionEvent& event) {
             seen.push_back(std::string(jupyter::EventName(event.kind)) + " " + event.text);
           }},
      [&](ExecuteOutcome outcome) { seen.push_back("done " + outcome.result.stdout_text); });
  ASSERT_TRUE(RunUntil([&] { return transport_.Running(1); }));
  ASSERT_EQ(seen, std::vector<std::string>{"start w-1"});
  transport_.Emit(1, {.kind = jupyter::EventKind::kStdout, .text = "hi\n"});
  transport_.Complete(1, Ok("hi\n"));
  Drain();
  EXPECT_EQ(seen, (std::vector<std::string>{"start w-1", "stdout hi\n", "done hi\n"}));
}

}  // namespace
}  // namespace pool

namespace pool {
namespace {

class PoolWorkspaceTest : public PoolTest {
 protected:
  PoolWorkspaceTest() { launcher_.EnableWorkspaces(); }

  // The workspace a grant gives the user, after waiting for it.
  std::shared_ptr<sandbox::HostWorkspace> Workspace(const std::string& user) {
    std::optional<WorkspaceGrant> grant;
    pool_->OpenWorkspace(user, {}, [&](WorkspaceGrant g) { grant = std::move(g); });
    if (!RunUntil([&] { return grant.has_value(); })) return nullptr;
    EXPECT_EQ(grant->refusal, WorkspaceRefusal::kNone) << grant->detail;
    return grant->workspace;
  }

  static void Write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }
};

TEST_F(PoolWorkspaceTest, TheWorkspaceIsAttachedBeforeCodeRunsAndOutlivesAReplacedKernel) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  auto reply = Exec("alice");
  ASSERT_TRUE(RunUntil([&] { return transport_.Running(1); }));
  EXPECT_EQ(launcher_.sandbox(1)->attaches(), 1);
  const auto ws = Workspace("alice");
  ASSERT_TRUE(ws);
  EXPECT_EQ(launcher_.sandbox(1)->attached_path(), ws->Path());
  Write(ws->Path() / "kept.txt", "x");

  launcher_.sandbox(1)->Die(kExitCode1);
  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kKernelDied);
  ASSERT_TRUE(MakeReady(2));
  auto next = Exec("alice");
  ASSERT_TRUE(RunUntil([&] { return transport_.Running(2); }));
  EXPECT_EQ(launcher_.sandbox(2)->attaches(), 1);  // the same workspace, on the new kernel
  EXPECT_EQ(launcher_.sandbox(2)->attached_path(), ws->Path());
  EXPECT_TRUE(std::filesystem::exists(ws->Path() / "kept.txt"));
  transport_.Complete(2, Ok());
  ASSERT_TRUE(RunUntil([&] { return next->done(); }));

  EXPECT_TRUE(pool_->Release("alice"));
  JoinBlocking();
  EXPECT_FALSE(std::filesystem::exists(ws->Path())) << "removed with the session";
}

TEST_F(PoolWorkspaceTest, AFileCallCreatesTheSessionWithTheOptionsItNames) {
  StartPool(Config(0));
  const auto open = [&](const std::string& user, const SessionOptions& options) {
    std::optional<WorkspaceGrant> grant;
    pool_->OpenWorkspace(user, options, [&](WorkspaceGrant g) { grant = std::move(g); });
    EXPECT_TRUE(RunUntil([&] { return grant.has_value(); }));
    return grant.value_or(WorkspaceGrant{});
  };
  WorkspaceGrant grant = open("bob", {.environment = "nope"});
  EXPECT_EQ(grant.refusal, WorkspaceRefusal::kInvalid);
  EXPECT_NE(grant.detail.find("Unknown environment 'nope'"), std::string::npos) << grant.detail;
  EXPECT_FALSE(pool_->Describe("bob").has_value()) << "a refused call creates no session";

  SessionOptions smaller;
  smaller.limits.memory_mb = 512;
  grant = open("carol", smaller);
  ASSERT_EQ(grant.refusal, WorkspaceRefusal::kNone) << grant.detail;
  EXPECT_TRUE(grant.workspace);
  ASSERT_TRUE(pool_->Describe("carol").has_value());
  EXPECT_EQ(pool_->Describe("carol")->limits.memory_mb, 512u);

  SessionOptions other;
  other.limits.memory_mb = 256;
  grant = open("carol", other);
  EXPECT_EQ(grant.refusal, WorkspaceRefusal::kConflict);
  EXPECT_EQ(open("carol", {}).refusal, WorkspaceRefusal::kNone) << "naming nothing agrees";
  EXPECT_EQ(open("carol", smaller).refusal, WorkspaceRefusal::kNone) << "the same limits agree";
  EXPECT_EQ(pool_->Describe("carol")->limits.memory_mb, 512u);
}

TEST_F(PoolWorkspaceTest, EachExecutionReportsWhatChangedDuringItOnly) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  const auto ws = Workspace("alice");
  ASSERT_TRUE(ws);
  Write(ws->Path() / "uploaded.csv", "a,b\n");  // before any execution: not its doing
  pool_->WorkspaceChanged("alice");

  auto first = Exec("alice");
  ASSERT_TRUE(RunUntil([&] { return transport_.Running(1); }));
  Write(ws->Path() / "chart.png", "png");
  transport_.Complete(1, Ok());
  ASSERT_TRUE(RunUntil([&] { return first->done(); }));
  ASSERT_TRUE(first->outcome.files.has_value());
  ASSERT_EQ(first->outcome.files->changes.size(), 1u);
  EXPECT_EQ(first->outcome.files->changes[0].path, "chart.png");
  EXPECT_EQ(first->outcome.files->changes[0].change, workspace::Change::kCreated);
  EXPECT_EQ(first->outcome.files->changes[0].size, 3u);

  auto second = Exec("alice");
  ASSERT_TRUE(RunUntil([&] { return transport_.executes.size() == 2; }));
  std::filesystem::remove(ws->Path() / "chart.png");
  transport_.Complete(1, Ok());
  ASSERT_TRUE(RunUntil([&] { return second->done(); }));
  ASSERT_EQ(second->outcome.files->changes.size(), 1u);
  EXPECT_EQ(second->outcome.files->changes[0].change, workspace::Change::kDeleted);

  auto third = Exec("alice");
  ASSERT_TRUE(RunUntil([&] { return transport_.executes.size() == 3; }));
  transport_.Complete(1, Ok());
  ASSERT_TRUE(RunUntil([&] { return third->done(); }));
  EXPECT_TRUE(third->outcome.files->changes.empty());
  EXPECT_FALSE(third->outcome.files->truncated);
}

TEST_F(PoolWorkspaceTest, AFileCallCreatesTheSessionAndItStaysWithoutAWorker) {
  PoolConfig config = Config(0);
  config.max_workers = 1;
  StartPool(config);
  const auto ws = Workspace("bob");
  ASSERT_TRUE(ws);
  EXPECT_EQ(pool_->Status().sessions, 1u);
  EXPECT_EQ(pool_->Status().total_workers, 0u) << "a file call takes no worker";
  // Another user's file call: a session of its own, still without a worker.
  const auto other = Workspace("carol");
  ASSERT_TRUE(other);
  EXPECT_NE(other->Path(), ws->Path());
  EXPECT_EQ(pool_->Status().sessions, 2u);
}

TEST_F(PoolWorkspaceTest, ReapingAnIdleSessionRemovesItsWorkspace) {
  StartPool(Config(0));
  const auto ws = Workspace("idle");
  ASSERT_TRUE(ws);
  Write(ws->Path() / "f", "x");
  pool_->ReapIdle(Clock::now() + std::chrono::hours(2));
  JoinBlocking();
  EXPECT_EQ(pool_->Status().sessions, 0u);
  EXPECT_FALSE(std::filesystem::exists(ws->Path()));
}

TEST_F(PoolWorkspaceTest, AWorkerTheWorkspaceCannotBeAttachedToIsReplacedAndTheQueueTold) {
  StartPool(Config(1));
  ASSERT_TRUE(MakeReady(1));
  launcher_.sandbox(1)->FailAttach();
  auto reply = Exec("alice");
  ASSERT_TRUE(RunUntil([&] { return reply->done(); }));
  EXPECT_EQ(reply->outcome.outcome, Outcome::kNoCapacity);
  EXPECT_NE(reply->outcome.detail.find("fake attach failure"), std::string::npos)
      << reply->outcome.detail;
  EXPECT_TRUE(Killed(1));
  EXPECT_TRUE(transport_.executes.empty());
}

TEST_F(PoolWorkspaceTest, WithoutWorkspacesFileCallsAreRefused) {
  FakeLauncher off;
  pool_ = std::make_unique<Pool>(Config(0), io_, blocking_, off, transport_);
  pool_->Start();
  std::optional<WorkspaceGrant> grant;
  pool_->OpenWorkspace("alice", {}, [&](WorkspaceGrant g) { grant = std::move(g); });
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->refusal, WorkspaceRefusal::kUnavailable);
  EXPECT_NE(grant->detail.find("off in this test"), std::string::npos);
  EXPECT_EQ(pool_->Status().sessions, 0u);
  pool_->Shutdown();
  JoinBlocking();
  pool_.reset();
}

}  // namespace
}  // namespace pool
