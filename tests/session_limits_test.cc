// Per-session limits end to end, on the sandbox under test: a session asks for limits within
// the server's caps (above and below the defaults) and gets them, measured inside its kernel;
// above a cap it is refused, naming the cap. The server runs the host's Python (ServerProcess).
#include <gtest/gtest.h>

#include <string>

#include "support/server_process.h"

namespace {

using testing_support::ServerProcess;
using testing_support::TestSandbox;

class SessionLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestSandbox() == "none") GTEST_SKIP() << "--sandbox=none enforces no limits";
  }
  // Defaults below the caps, so a session can ask for more and for less.
  ServerProcess server_{{"--memory-mb", "512", "--max-memory-mb", "1536", "--cpus", "1",
                         "--max-cpus", "1", "--pids", "128", "--max-pids", "256", "--min-idle",
                         "1"}};
};

TEST_F(SessionLimitsTest, AboveACapIsRefusedNamingTheCap) {
  ASSERT_TRUE(server_.ok()) << server_.Log();
  const auto c = server_.Client();
  auto r = c.Post("/sessions", R"({"user_uuid": "greedy", "limits": {"memory_mb": 4096}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("--max-memory-mb"), std::string::npos) << r.body;
  r = c.Post("/execute", R"({"user_uuid": "greedy", "code": "1", "limits": {"cpus": 2}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("--max-cpus"), std::string::npos) << r.body;
  EXPECT_EQ(c.Get("/sessions/greedy").status, 404) << "a refused request creates no session";
}

TEST_F(SessionLimitsTest, MoreMemoryFewerProcessesAndLessCpuHoldInside) {
  ASSERT_TRUE(server_.ok()) << server_.Log();
  const auto c = server_.Client();
  auto r = c.Post("/sessions", R"({"user_uuid": "tuned", "limits": {"memory_mb": 1536,
      "cpus": 0.25, "pids": 64, "timeout": 20, "max_timeout": 40}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["limits"]["memory_mb"], 1536);
  EXPECT_EQ(r.Json()["limits"]["max_timeout"], 40.0);

  // 900 MiB: beyond the default's data limit (~448 MiB), within this session's.
  r = c.Execute("tuned", "big = bytearray(900 << 20)\nlen(big) >> 20");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "900");
  r = c.Execute("tuned",
                "del big\ntry:\n    x = bytearray(1600 << 20)\nexcept MemoryError:\n"
                "    print('MemoryError')");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "MemoryError\n");

  // Processes: at most 64 tasks in the sandbox (the kernel's own threads included).
  r = c.Execute("tuned",
                "import os, time\nkids = []\nfor _ in range(100):\n    try:\n"
                "        pid = os.fork()\n    except OSError:\n        break\n"
                "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
                "    kids.append(pid)\nn = len(kids)\nfor k in kids:\n    os.kill(k, 9)\n"
                "    os.waitpid(k, 0)\nprint(n)");
  ASSERT_EQ(r.status, 200) << r.body;
  const int forked = std::stoi(r.ResultText());
  EXPECT_GT(forked, 10);
  EXPECT_LT(forked, 64);

  // CPU: two busy processes for 2 s of wall time get ~0.5 s of CPU at 0.25 cores (up to 4 s
  // without the quota on two cores).
  r = c.Execute("tuned",
                "import os, time, resource\nkids = []\nfor _ in range(2):\n"
                "    pid = os.fork()\n    if pid == 0:\n        end = time.time() + 2\n"
                "        while time.time() < end:\n            pass\n        os._exit(0)\n"
                "    kids.append(pid)\nfor k in kids:\n    os.waitpid(k, 0)\n"
                "print(round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime, 2))");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LT(std::stod(r.ResultText()), 1.2) << "CPU seconds of 2 s of busy wall time";

  r = c.Get("/sessions/tuned");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["limits"]["pids"], 64);
  EXPECT_EQ(r.Json()["limits"]["cpus"], 0.25);
  // The session's own max_timeout bounds its requests.
  r = c.Post("/execute", R"({"user_uuid": "tuned", "code": "1", "timeout": 60})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("max_timeout"), std::string::npos) << r.body;
  r = c.Post("/execute", R"({"user_uuid": "tuned", "code": "1", "limits": {"pids": 100}})");
  EXPECT_EQ(r.status, 409) << "other limits than the session's";
}

TEST_F(SessionLimitsTest, LessMemoryEndsInMemoryErrorAndAOneSecondLoopIsASecond) {
  ASSERT_TRUE(server_.ok()) << server_.Log();
  const auto c = server_.Client();
  auto r = c.Post("/sessions", R"({"user_uuid": "small", "limits": {"memory_mb": 256}})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = c.Execute("small",
                "keep = 41\ntry:\n    x = bytearray(400 << 20)\nexcept MemoryError:\n"
                "    print('MemoryError')");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "MemoryError\n") << "400 MiB is within the default 512, not within 256";
  r = c.Execute("small", "keep + 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "42");
  EXPECT_TRUE(r.Json()["state_preserved"].get<bool>());

  r = c.Execute("small",
                "import time\nend = time.process_time() + 1\n"
                "while time.process_time() < end:\n    pass");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.Json().contains("usage")) << r.body;
  const double cpu_ms = r.Json()["usage"]["cpu_ms"].get<double>();
  EXPECT_GT(cpu_ms, 900);
  EXPECT_LT(cpu_ms, 1500);
}

// A file call may be a session's first: it names the limits in its query, and the session's
// kernel, started later, runs with them.
TEST_F(SessionLimitsTest, AFileCallCreatesTheSessionWithTheLimitsItNames) {
  ASSERT_TRUE(server_.ok()) << server_.Log();
  const auto c = server_.Client();
  auto r = c.Request("PUT", "/files?user_uuid=filer&path=in.txt&limits.memory_mb=4096", "x",
                     {{"X-Auth-Token", c.token()}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("--max-memory-mb"), std::string::npos) << r.body;
  EXPECT_EQ(c.Get("/sessions/filer").status, 404) << "a refused call creates no session";

  r = c.Request("PUT", "/files?user_uuid=filer&path=in.txt&limits.memory_mb=256", "41",
                {{"X-Auth-Token", c.token()}});
  ASSERT_EQ(r.status, 201) << r.body;
  r = c.Get("/sessions/filer");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["limits"]["memory_mb"], 256);
  EXPECT_EQ(c.Get("/files/list?user_uuid=filer&limits.memory_mb=512").status, 409)
      << "the session has other limits";
  EXPECT_EQ(c.Get("/files/list?user_uuid=filer&limits.memory_mb=256").status, 200);

  r = c.Execute("filer",
                "keep = int(open('in.txt').read())\ntry:\n    x = bytearray(400 << 20)\n"
                "except MemoryError:\n    print('MemoryError')");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "MemoryError\n") << "the kernel runs with the file call's 256 MiB";
  r = c.Execute("filer", "keep + 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ResultText(), "42");
}

}  // namespace
