// The namespaces sandbox started by an ordinary user (rootless mode): unprivileged user
// namespaces instead of root, the sandbox's ids mapped to that user's own, and the limits
// this host cannot enforce named at start and refused unless accepted.
//
// The test runs as root and starts the gateway as kUser (ServerProcess::AsUser); on a host
// where unprivileged user namespaces are disabled the cases skip. They run on the default
// backend only: rootless is a mode of the namespaces sandbox.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/proc.h"
#include "support/server_process.h"

namespace {

using json = nlohmann::json;
using testing_support::HostPidsHolding;
using testing_support::HostProcesses;
using testing_support::HttpReply;
using testing_support::ServerProcess;

// Not in any range the gateway hands out (sandbox/uid_slots.h: 100000 to 1100000).
constexpr unsigned kUser = 2100000;

// Whether kUser may create a user namespace here (a child tries).
bool UserNamespacesAllowed() {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setresgid(kUser, kUser, kUser) != 0 || ::setresuid(kUser, kUser, kUser) != 0) _exit(2);
    _exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class RootlessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing_support::TestSandbox() != "namespaces") GTEST_SKIP() << "namespaces backend only";
    if (::geteuid() != 0) GTEST_SKIP() << "starts the gateway as another user: needs root";
    if (!UserNamespacesAllowed()) GTEST_SKIP() << "unprivileged user namespaces are disabled";
  }
};

// On this kind of host (cgroup v1, or v2 without delegation to the user) nothing limits a
// kernel's memory or CPU: serve must say which limits are missing and refuse by default.
TEST_F(RootlessTest, RefusesLimitsItCannotEnforceUnlessAccepted) {
  ServerProcess server = ServerProcess::AsUser(kUser, {"--min-idle", "0"});
  if (server.ok()) {
    const std::string log = server.Log();
    ASSERT_NE(log.find("cgroup limits"), std::string::npos) << log;
    GTEST_SKIP() << "this host delegates cgroups to ordinary users: nothing to refuse";
  }
  const int status = server.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  const std::string log = server.Log();
  EXPECT_NE(log.find("rootless"), std::string::npos) << log;
  for (const char* named : {"memory (--memory)", "CPU (--cpus)", "--accept-unenforced-limits"})
    EXPECT_NE(log.find(named), std::string::npos) << named << " not in: " << log;
}

TEST_F(RootlessTest, KernelsRunAsTheUserWithNoPrivilegeAndKeepTheirState) {
  ServerProcess server = ServerProcess::AsUser(
      kUser,
      {"--min-idle", "1", "--max-workers", "3", "--pids", "64", "--accept-unenforced-limits"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const auto client = server.Client();
  HttpReply first = client.Execute("alice", "x = 41\nopen('/tmp/ci-rootless-marker', 'w')");
  ASSERT_EQ(first.status, 200) << first.body << server.Log();
  HttpReply second = client.Execute("alice", R"PY(
import os, json, errno
f = open('/tmp/ci-rootless-marker')
res = {"x": x + 1, "uid": os.getuid(), "groups_mapped": [g for g in os.getgroups() if g != 65534],
       "uid_map": open('/proc/self/uid_map').read().split(),
       "caps": [l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')],
       "usr_owner": os.stat('/usr').st_uid}
for name, path in [("kernel_dir", "/run/kernel/planted"), ("usr", "/usr/planted")]:
    try:
        open(path, 'w')
        res[name] = 0
    except OSError as e:
        res[name] = e.errno
try:
    open('/proc/1/mem', 'rb').read(1)
    res["init_mem"] = 0
except OSError as e:
    res["init_mem"] = e.errno
children = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            os.read(os.pipe()[0], 1)  # blocks until killed
        children.append(pid)
except OSError as e:
    res["fork_errno"] = e.errno
res["forked"] = len(children)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(json.dumps(res))
)PY");
  ASSERT_EQ(second.status, 200) << second.body;
  const json j = json::parse(second.Json()["stdout"].get<std::string>());
  EXPECT_EQ(j["x"], 42) << "the session lost its state";
  EXPECT_EQ(j["uid"], 0) << "the namespace's root, mapped to the user";
  EXPECT_EQ(j["uid_map"], json({"0", std::to_string(kUser), "1"})) << j;
  for (const auto& caps : j["caps"]) EXPECT_EQ(caps, "0000000000000000") << j;
  EXPECT_EQ(j["usr_owner"], 65534) << "host root is mapped";
  EXPECT_EQ(j["kernel_dir"], EROFS) << "the kernel can write the worker directory on the host";
  EXPECT_EQ(j["usr"], EROFS);
  EXPECT_TRUE(j["init_mem"] == EACCES || j["init_mem"] == EPERM) << j;
  // --pids holds per sandbox through RLIMIT_NPROC, counted in the sandbox's user namespace.
  EXPECT_EQ(j["fork_errno"], EAGAIN) << j;
  EXPECT_LT(j["forked"].get<int>(), 64) << j;
  EXPECT_GT(j["forked"].get<int>(), 32) << "the cap counts more than this sandbox: " << j;

  // On the host, the kernel is the user's, not root's.
  const std::vector<int> holders = HostPidsHolding("ci-rootless-marker");
  ASSERT_EQ(holders.size(), 1u);
  for (const auto& p : HostProcesses()) {
    if (p.pid == holders[0]) {
      EXPECT_EQ(p.uid, kUser);
    }
  }
  EXPECT_NE(server.Log().find("NOT enforced"), std::string::npos) << server.Log();

  // No workspace rootless (yet): the file routes say so, and the kernel keeps its home as
  // its working directory instead of an empty, read-only /sandbox.
  HttpReply files = client.Request("GET", "/files/list?user_uuid=alice", "",
                                   {{"X-Auth-Token", client.token()}});
  EXPECT_EQ(files.status, 501) << files.body;
  HttpReply cwd = client.Execute("alice", "import os; print(os.getcwd())");
  EXPECT_EQ(cwd.Json()["stdout"], "/home/sandbox\n") << cwd.body;
  EXPECT_FALSE(cwd.Json().contains("files")) << cwd.body;
}

}  // namespace
