// The docker backend against a real engine that goes away and comes back, a missing image,
// and a gateway that crashes: the gateway answers clearly (503 + detail), keeps serving,
// recovers, and never leaves containers of its own behind.
//
// The engine is reached through a relay on a unix socket that the test owns: closing the
// relay is, for the gateway, exactly the engine going away; the real engine keeps running
// for the other suites.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "sandbox/docker_launcher.h"
#include "sandbox/namespaces_launcher.h"
#include "support/engine.h"
#include "support/server_process.h"

namespace {

using testing_support::ConnectUnix;
using testing_support::ContainersOfInstance;
using testing_support::EngineGet;
using testing_support::EngineSocket;
using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ServerProcess;
using testing_support::WaitFor;

// Relays every connection on `path` to the real engine while open.
class EngineRelay {
 public:
  explicit EngineRelay(std::string path) : path_(std::move(path)) {}
  ~EngineRelay() { Close(); }

  void Open() {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    ::unlink(path_.c_str());
    ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener_, 64), 0);
    ASSERT_EQ(::pipe2(stop_, O_CLOEXEC), 0);
    acceptor_ = std::thread([this] { Accept(); });
  }

  // Closes the listener and every relayed connection: the engine is gone.
  void Close() {
    if (listener_ < 0) return;
    (void)!::write(stop_[1], "x", 1);
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (auto& t : relays_) t.join();
      relays_.clear();
    }
    ::close(listener_);
    ::close(stop_[0]);
    ::close(stop_[1]);
    listener_ = -1;
    ::unlink(path_.c_str());
  }

 private:
  void Accept() {
    while (true) {
      pollfd p[2] = {{listener_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 || (p[1].revents & POLLIN) != 0) return;
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard lock(mu_);
      relays_.emplace_back([this, client] { Relay(client); });
    }
  }

  void Relay(int client) {
    const common::UniqueFd engine = ConnectUnix(EngineSocket());
    if (engine.Valid()) {
      char buf[65536];
      while (true) {
        pollfd p[3] = {{client, POLLIN, 0}, {engine.Get(), POLLIN, 0}, {stop_[0], POLLIN, 0}};
        if (::poll(p, 3, -1) < 0 || (p[2].revents & POLLIN) != 0) break;
        const int from = (p[0].revents & (POLLIN | POLLHUP)) != 0 ? client : engine.Get();
        const int to = from == client ? engine.Get() : client;
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0 || ::write(to, buf, static_cast<std::size_t>(n)) != n) break;
      }
    }
    ::close(client);
  }

  std::string path_;
  int listener_ = -1;
  int stop_[2] = {-1, -1};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> relays_;  // guarded by mu_
};

bool ContainerExists(const std::string& id) {
  return EngineGet("/containers/" + id + "/json").status == 200;
}

// The container ids that the server's log names ("container 3f2a...").
std::vector<std::string> LoggedContainers(const std::string& log) {
  std::vector<std::string> ids;
  for (std::size_t at = 0; (at = log.find("(container ", at)) != std::string::npos;) {
    at += 11;
    ids.push_back(log.substr(at, 12));
  }
  return ids;
}

class DockerEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CI_TEST_SANDBOX", "docker", 1);  // a docker-only suite: servers use that backend
    ASSERT_TRUE(ConnectUnix(EngineSocket()).Valid())
        << "no Docker engine at " << EngineSocket() << " (scripts/docker-engine.sh starts one)";
    char templ[] = "/tmp/ci-engine-XXXXXX";
    dir_ = ::mkdtemp(templ);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(DockerEngineTest, EngineGoingAwayIsA503AndComingBackIsServedAgain) {
  EngineRelay relay(dir_ + "/engine.sock");
  relay.Open();
  ServerProcess server(
      {"--docker-socket", dir_ + "/engine.sock", "--min-idle", "0", "--max-workers", "4"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  HttpReply r = c.Execute("before", "kept = 41");
  ASSERT_EQ(r.status, 200) << r.body;

  relay.Close();
  // A new session needs a new container: the engine's absence is said, with a retry hint.
  r = c.Execute("during", "1 + 1");
  ASSERT_EQ(r.status, 503) << r.body;
  const std::string detail = r.Json().value("detail", "");
  EXPECT_NE(detail.find("docker engine"), std::string::npos) << detail;
  EXPECT_NE(detail.find("unreachable"), std::string::npos) << detail;
  EXPECT_FALSE(r.headers["retry-after"].empty());
  // A running session does not need the engine: the gateway talks to its kernel directly.
  r = c.Execute("before", "kept + 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "42");
  EXPECT_EQ(c.Get("/status").status, 200);

  relay.Open();
  // Start failures back off (up to 30 s): keep asking until the pool tries again.
  ASSERT_TRUE(WaitFor([&] { return (r = c.Execute("during", "1 + 1")).status == 200; }, 90))
      << r.body << "\n"
      << server.Log();
  EXPECT_EQ(r.Json()["result_text"], "2");
  EXPECT_NE(server.Log().find("unreachable"), std::string::npos) << "the outage is logged";
}

TEST_F(DockerEngineTest, ContainerRemovedBehindTheGatewaysBackIsReportedLost) {
  // What an engine restart does to its containers (without live-restore): they are gone.
  ServerProcess server({"--min-idle", "0", "--max-workers", "2"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  HttpReply r = c.Execute("victim", "kept = 1");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto ids = LoggedContainers(server.Log());
  ASSERT_EQ(ids.size(), 1u) << server.Log();
  const std::string kill = "curl -s -o /dev/null --unix-socket " + EngineSocket() +
                           " -X DELETE 'http://docker/containers/" + ids[0] + "?force=true'";
  ASSERT_EQ(std::system(kill.c_str()), 0);
  r = c.Execute("victim", "'kept' in globals()");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "False");
  EXPECT_EQ(r.Json()["state_preserved"], false);
  EXPECT_NE(r.Json().value("notice", "") + r.Json().value("detail", ""), "") << r.body;
}

TEST_F(DockerEngineTest, MissingImageIsAClear503) {
  ServerProcess server({"--docker-image", "code-interpreter-no-such-image:0", "--min-idle", "0"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpReply r = server.Client().Execute("u", "1 + 1");
  ASSERT_EQ(r.status, 503) << r.body;
  const std::string detail = r.Json().value("detail", "");
  EXPECT_NE(detail.find("No such image"), std::string::npos) << detail;
  EXPECT_NE(server.Log().find("does not exist"), std::string::npos) << server.Log();
  EXPECT_EQ(server.Client().Get("/status").status, 200) << "the gateway keeps serving";
}

TEST_F(DockerEngineTest, CrashedGatewaysContainersAreRemovedAtTheNextStart) {
  std::vector<std::string> before;
  {
    ServerProcess first({"--min-idle", "2", "--max-workers", "3"}, dir_);
    ASSERT_TRUE(first.ok()) << first.Log();
    ASSERT_TRUE(WaitFor(
        [&] { return first.Client().Get("/status").Json()["idle_workers_in_pool"] == 2; }, 60));
    ASSERT_EQ(first.Client().Execute("u", "1").status, 200);
    before = LoggedContainers(first.Log());
    ASSERT_GE(before.size(), 2u);
    first.Signal(SIGKILL);  // a crash: nothing is cleaned up
  }
  for (const auto& id : before) EXPECT_TRUE(ContainerExists(id)) << id << " outlived the crash";

  ServerProcess second({"--min-idle", "1", "--max-workers", "3"}, dir_);
  ASSERT_TRUE(second.ok()) << second.Log();
  for (const auto& id : before) EXPECT_FALSE(ContainerExists(id)) << id << " was not swept";
  EXPECT_NE(second.Log().find("removed stale container"), std::string::npos) << second.Log();
  const HttpReply r = second.Client().Execute("u", "1 + 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "2");
  second.Stop();
  for (const auto& id : LoggedContainers(second.Log()))
    EXPECT_FALSE(ContainerExists(id)) << id << " outlived a clean shutdown";
}

TEST_F(DockerEngineTest, ContainersLeftOutsideThePoolAreRemovedAtShutdown) {
  ServerProcess server({"--min-idle", "1", "--max-workers", "2"}, dir_);
  ASSERT_TRUE(server.ok()) << server.Log();
  ASSERT_TRUE(WaitFor(
      [&] { return server.Client().Get("/status").Json()["idle_workers_in_pool"] == 1; }, 60));
  const std::string instance = sandbox::NamespacesLauncher::ScopeFor(
      std::filesystem::absolute(server.runtime_dir()).string());
  // What a gateway killed between creating and starting a container leaves, when the engine
  // finishes the creation after the next gateway's start-up sweep: a container of this
  // instance that no worker owns.
  const std::string create =
      "curl -s -o /dev/null --unix-socket " + EngineSocket() +
      " -H 'Content-Type: application/json' -X POST 'http://docker/containers/create?name=" +
      "code-interpreter-" + instance +
      "-orphan' -d '{\"Image\": \"code-interpreter-worker:latest\", " +
      "\"Cmd\": [\"true\"], \"Labels\": {\"" + sandbox::docker::kManagedLabel +
      "\": \"code-interpreter\", \"" + sandbox::docker::kInstanceLabel + "\": \"" + instance +
      "\"}}'";
  ASSERT_EQ(std::system(create.c_str()), 0);
  ASSERT_EQ(ContainersOfInstance(instance).size(), 2u) << "the worker's and the orphan";

  server.Stop();
  EXPECT_EQ(ContainersOfInstance(instance), nlohmann::json::array())
      << "a clean shutdown leaves nothing of its instance";
  // Whatever the outcome, the orphan must not outlive the test.
  const std::string remove = "curl -s -o /dev/null --unix-socket " + EngineSocket() +
                             " -X DELETE 'http://docker/containers/code-interpreter-" + instance +
                             "-orphan?force=true'";
  EXPECT_EQ(std::system(remove.c_str()), 0);
}

}  // namespace
