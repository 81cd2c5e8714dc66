// Pool and process lifecycle seen from outside: concurrency, capacity, reaping, shutdown.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace {

using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ServerProcess;
using testing_support::WaitFor;

using testing_support::HostPidsHolding;
using testing_support::OpenMarkerCode;

// A random id fixed at a kernel's first use: equal ids mean one kernel.
const std::string kKernelIdentity =
    "import uuid\n_kernel_id = globals().setdefault('_kernel_id', uuid.uuid4().hex)\n";

// Gone, or a zombie waiting for a reaper that is not ours (orphans go to the host's init).
bool ProcessGone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(LifecycleTest, TwentyUsersConcurrentlyKeepTheirOwnState) {
  ServerProcess server({"--min-idle", "2", "--max-workers", "20", "--start-timeout", "120"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  std::vector<std::future<std::string>> users;
  for (int i = 0; i < 20; ++i) {
    users.push_back(std::async(std::launch::async, [&c, i] {
      const std::string user = "user-" + std::to_string(i);
      const HttpReply set =
          c.Execute(user, "mine = " + std::to_string(i) + "\n" + kKernelIdentity, 100);
      if (set.status != 200) return "set failed: " + set.body;
      const HttpReply get = c.Execute(user, "print(mine, _kernel_id)", 100);
      if (get.status != 200) return "get failed: " + get.body;
      return get.Json()["stdout"].get<std::string>();
    }));
  }
  std::set<std::string> kernels;
  for (int i = 0; i < 20; ++i) {
    const std::string out = users[i].get();
    ASSERT_EQ(out.rfind(std::to_string(i) + " ", 0), 0u) << "user " << i << ": " << out;
    kernels.insert(out.substr(out.find(' ') + 1));
  }
  EXPECT_EQ(kernels.size(), 20u) << "every user has a kernel of their own";
  EXPECT_EQ(c.Get("/status").Json()["busy_workers"], 20);
}

TEST(LifecycleTest, SimultaneousFirstRequestsOfOneUserShareOneWorker) {
  ServerProcess server({"--min-idle", "0", "--max-workers", "4"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  auto first = std::async(std::launch::async,
                          [&c] { return c.Execute("twin", kKernelIdentity + "_kernel_id"); });
  auto second = std::async(std::launch::async,
                           [&c] { return c.Execute("twin", kKernelIdentity + "_kernel_id"); });
  const HttpReply a = first.get();
  const HttpReply b = second.get();
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(a.Json()["result_text"], b.Json()["result_text"]);
  EXPECT_EQ(c.Get("/status").Json()["total_workers"], 1);
}

TEST(LifecycleTest, FullPoolAnswers503WithRetryAfter) {
  ServerProcess server({"--min-idle", "1", "--max-workers", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  ASSERT_EQ(c.Execute("first", "1").status, 200);
  const HttpReply r = c.Execute("second", "1");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_FALSE(r.headers.at("retry-after").empty());
  EXPECT_TRUE(r.Json()["detail"].is_string());
  // Releasing the first user frees the slot.
  ASSERT_EQ(c.Release("first").status, 200);
  EXPECT_EQ(c.Execute("second", "1").status, 200);
}

TEST(LifecycleTest, QueueBeyondTheLimitAnswers429) {
  ServerProcess server({"--min-idle", "1", "--max-workers", "2", "--queue-limit", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  const std::string marker = "ci-queue-" + std::to_string(server.port());
  auto running = std::async(std::launch::async, [&] {
    return c.Execute("queue", OpenMarkerCode(marker) + "import time\ntime.sleep(2)");
  });
  // The marker is open once the first execution runs.
  ASSERT_TRUE(WaitFor([&] { return !HostPidsHolding(marker).empty(); }, 30)) << server.Log();
  // One of these two waits in the queue (limit 1), the other is refused.
  auto b = std::async(std::launch::async, [&] { return c.Execute("queue", "'b'"); });
  auto d = std::async(std::launch::async, [&] { return c.Execute("queue", "'d'"); });
  const std::multiset<int> statuses = {b.get().status, d.get().status};
  EXPECT_EQ(statuses, (std::multiset<int>{200, 429}));
  EXPECT_EQ(running.get().status, 200);
  std::filesystem::remove("/tmp/" + marker);
}

TEST(LifecycleTest, IdleSessionsAreReapedAndThePoolToppedUp) {
  ServerProcess server({"--min-idle", "1", "--max-workers", "3", "--idle-timeout", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  ASSERT_EQ(c.Execute("sleepy", "kept = 1").status, 200);
  ASSERT_TRUE(WaitFor([&] { return c.Get("/status").Json()["sessions"] == 0; }, 10))
      << server.Log();
  EXPECT_TRUE(WaitFor([&] { return c.Get("/status").Json()["idle_workers_in_pool"] == 1; }, 30));
  const HttpReply r = c.Execute("sleepy", "'kept' in globals()");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "False");
  EXPECT_NE(server.Log().find("reaped"), std::string::npos);
}

TEST(LifecycleTest, FrozenKernelFailsItsHeartbeatAndIsReplaced) {
  ServerProcess server({"--min-idle", "1", "--max-workers", "3", "--health-interval", "0.5"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  const std::string marker = "ci-frozen-" + std::to_string(server.port());
  HttpReply r = c.Execute("frozen", OpenMarkerCode(marker) + "kept = 1");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto pids = HostPidsHolding(marker);
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(::kill(pids[0], SIGSTOP), 0);  // alive but unresponsive: only the heartbeat can tell
  ASSERT_TRUE(WaitFor([&] { return c.Get("/status").Json()["busy_workers"] == 0; }, 30))
      << server.Log();
  r = c.Execute("frozen", "'kept' in globals()");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "False");
  EXPECT_EQ(r.Json()["state_preserved"], false);
  EXPECT_NE(server.Log().find("missed its heartbeat"), std::string::npos);
  EXPECT_EQ(server.Log().find("recv failed"), std::string::npos);
  std::filesystem::remove("/tmp/" + marker);
}

TEST(LifecycleTest, ShutdownLeavesNoProcessesAndNoRuntimeFiles) {
  ServerProcess server({"--min-idle", "2", "--max-workers", "4"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  const std::string marker = "ci-shutdown-" + std::to_string(server.port());
  for (const char* user : {"a", "b"}) {
    // The child keeps the marker open too, so it is found (and must be gone) as well.
    const HttpReply r =
        c.Execute(user, OpenMarkerCode(marker) +
                            "import subprocess\nchild = subprocess.Popen(['sleep', '600'], "
                            "pass_fds=[_ci_marker.fileno()])");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const std::vector<int> processes = HostPidsHolding(marker);
  ASSERT_EQ(processes.size(), 4u) << "two kernels and their children";
  // A request in flight at shutdown is answered, not dropped.
  auto in_flight =
      std::async(std::launch::async, [&] { return c.Execute("a", "import time; time.sleep(30)"); });
  ASSERT_TRUE(WaitFor([&] { return c.Get("/status").Json()["executing_workers"] == 1; }, 30));
  const std::string runtime_dir = server.runtime_dir();
  const int status = server.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(in_flight.get().status, 503);
  for (const int pid : processes) EXPECT_TRUE(ProcessGone(pid)) << "process " << pid << " survived";
  EXPECT_TRUE(HostPidsHolding(marker).empty());
  std::filesystem::remove("/tmp/" + marker);
  EXPECT_FALSE(std::filesystem::exists(runtime_dir));
}

// Sockets of the gateway (its listening socket, client connections) as "socket:[inode]".
std::set<std::string> SocketsOf(int pid) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind("socket:", 0) == 0) out.insert(target);
  }
  return out;
}

// Processes the gateway started (a sandbox's init, a plain kernel) hold none of its sockets:
// a client connection held open by a kernel would never be seen closing by the client.
TEST(LifecycleTest, SandboxesInheritNoneOfTheGatewaysSockets) {
  ServerProcess server({"--min-idle", "2", "--max-workers", "3"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  ASSERT_TRUE(WaitFor([&] { return c.Get("/status").Json()["idle_workers_in_pool"] == 2; }, 60));
  ASSERT_EQ(c.Execute("u", "1").status, 200);  // a third worker starts while a client is connected
  ASSERT_TRUE(WaitFor([&] { return c.Get("/status").Json()["idle_workers_in_pool"] == 2; }, 60));
  const std::set<std::string> gateway = SocketsOf(server.pid());
  ASSERT_FALSE(gateway.empty());
  int children = 0;
  std::error_code ec;
  for (const auto& process : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = process.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(process.path() / "status");
    int ppid = 0;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("PPid:", 0) == 0) ppid = std::atoi(line.c_str() + 5);
    }
    if (ppid != server.pid()) continue;
    ++children;
    for (const std::string& socket : SocketsOf(std::stoi(name))) {
      EXPECT_FALSE(gateway.contains(socket)) << "process " << name << " holds " << socket;
    }
  }
  if (testing_support::TestSandbox() != "docker") {
    EXPECT_GE(children, 3);
  }
}

}  // namespace
