// End-to-end behaviour of POST /execute against real ipykernels over real HTTP.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <string>
#include <thread>

#include "support/event_stream.h"
#include "support/server_process.h"

namespace {

using testing_support::HttpClient;
using testing_support::ServerProcess;

class ExecuteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        new ServerProcess({"--min-idle", "2", "--max-workers", "16", "--interrupt-grace", "2"});
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  HttpClient client() const { return server_->Client(); }

  static ServerProcess* server_;
};

ServerProcess* ExecuteTest::server_ = nullptr;

TEST_F(ExecuteTest, OriginalExampleFlowKeepsStateAndReturnsSeedShapes) {
  const HttpClient c = client();
  auto r = c.Execute("example", "a = 10\nb = 20");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.Json();
  EXPECT_TRUE(j["result_text"].is_null());
  EXPECT_TRUE(j["result_base64"].is_null());
  EXPECT_EQ(j["state_preserved"], true);
  EXPECT_EQ(j["timed_out"], false);

  r = c.Execute("example", "result = a * b\nprint(f'The product is {result}')\nresult");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["result_text"], "The product is 200\n200");
  EXPECT_EQ(j["stdout"], "The product is 200\n");
  EXPECT_EQ(j["outputs"][0]["type"], "execute_result");
  EXPECT_EQ(j["outputs"][0]["data"]["text/plain"], "200");
  EXPECT_TRUE(j["execution_count"].is_number_integer());

  r = c.Execute(
      "example",
      "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 10, 100)\n"
      "plt.figure(figsize=(5, 3))\nplt.plot(x, np.sin(x))\nplt.title('Sine Wave')\nplt.grid(True)\n"
      "plt.show()");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  ASSERT_TRUE(j["result_base64"].is_string()) << r.body.substr(0, 500);
  const std::string png = testing_support::DecodeBase64(j["result_base64"]);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  r = c.Release("example");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json(), (nlohmann::json{{"status", "ok"},
                                      {"detail", "Worker for user example has been released."}}));
}

// Requests shaped like the original's later version: user_uuid in the query, a Python
// exception is 200 with its text in result_text, a timeout 503, release 204.
TEST_F(ExecuteTest, TheLaterApiV1LayoutWorksBesideTheSeeds) {
  const HttpClient c = client();
  auto r = c.Post("/api/v1/execute?user_uuid=later", R"j({"code": "a = 6\nprint(a * 7)"})j");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "42\n");
  EXPECT_TRUE(r.Json()["worker_id"].is_string()) << r.body;
  EXPECT_EQ(c.Execute("later", "a").ResultText(), "6") << "one session behind both layouts";

  r = c.Post("/api/v1/execute?user_uuid=later", R"j({"code": "1 / 0"})j");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.ResultText().find("ZeroDivisionError: division by zero"), std::string::npos)
      << r.body;
  EXPECT_EQ(r.Json()["error"]["ename"], "ZeroDivisionError");

  r = c.Post("/api/v1/execute?user_uuid=later",
             R"j({"code": "import time\ntime.sleep(30)", "timeout": 1})j");
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(r.Json()["timed_out"].get<bool>());
  EXPECT_TRUE(r.Json()["state_preserved"].get<bool>()) << r.body;

  r = c.Post("/api/v1/execute", R"j({"code": "1"})j");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.Json()["detail"][0]["loc"], (nlohmann::json{"query", "user_uuid"}));
  EXPECT_EQ(c.Get("/api/v1/status").Json()["max_workers"], 16);
  r = c.Post("/api/v1/release?user_uuid=later", "");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_NE(c.Execute("later", "a").status, 200) << "released: a fresh kernel has no `a`";
  c.Release("later");
}

// POST /interrupt stops a running cell without a hang-up; the session keeps its state. The
// cell is streamed so that the interrupt goes out once the cell has printed (an interrupt
// landing before the cell starts is sent again: the fault suite's
// AnInterruptLostBeforeTheCellStartsIsSentAgain).
TEST_F(ExecuteTest, AnInterruptOnRequestEndsTheCellAndKeepsTheState) {
  const HttpClient c = client();
  ASSERT_EQ(c.Execute("stopper", "kept = 'yes'").status, 200);
  EXPECT_EQ(c.Post("/interrupt", R"({"user_uuid": "stopper"})").Json()["interrupted"], false);
  testing_support::EventStream running(
      server_->port(), "POST", "/execute",
      nlohmann::json{{"user_uuid", "stopper"},
                     {"code", "import time\nprint('started', flush=True)\ntime.sleep(60)"},
                     {"timeout", 120}}
          .dump(),
      {{"X-Auth-Token", server_->token()}, {"Accept", "application/x-ndjson"}});
  ASSERT_EQ(running.status(), 200) << running.plain_body();
  bool started = false;
  while (auto event = running.Next()) {
    if ((started = event->json["event"] == "stdout")) break;
  }
  ASSERT_TRUE(started);
  const auto sent = std::chrono::steady_clock::now();
  const testing_support::HttpReply ack = c.Post("/interrupt", R"({"user_uuid": "stopper"})");
  ASSERT_EQ(ack.status, 200) << ack.body;
  EXPECT_EQ(ack.Json()["interrupted"], true);
  nlohmann::json answer;
  while (auto event = running.Next()) {
    if (event->json["event"] == "done") answer = event->json["data"];
  }
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(10));
  ASSERT_TRUE(answer.is_object());
  EXPECT_TRUE(answer["interrupted"].get<bool>()) << answer;
  EXPECT_FALSE(answer["timed_out"].get<bool>());
  EXPECT_TRUE(answer["state_preserved"].get<bool>()) << answer;
  EXPECT_EQ(answer["error"]["ename"], "KeyboardInterrupt");
  EXPECT_EQ(c.Execute("stopper", "kept").ResultText(), "'yes'");
  EXPECT_EQ(c.Post("/interrupt", R"({"nobody": 1})").status, 400);
  c.Release("stopper");
}

TEST_F(ExecuteTest, AFreshSessionShowsNoTraceOfTheKernelsWarmUp) {
  // Workers run warm-up cells (one raises) before they join the pool; a user never sees them.
  const HttpClient c = client();
  auto r = c.Execute("warm-up",
                     "import sys\n[n for n in ('last_type', 'last_value', 'last_exc') "
                     "if hasattr(sys, n)], len(In), '_' in globals() and _");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["result_text"], "([], 2, '')") << r.body;
  EXPECT_EQ(j["execution_count"], 1) << r.body;
  ASSERT_EQ(c.Release("warm-up").status, 200);
}

TEST_F(ExecuteTest, TwoFiguresBothAppearInOutputs) {
  const auto r = client().Execute(
      "figures",
      "import matplotlib.pyplot as plt\nplt.figure(); plt.plot([1, 2]); plt.show()\n"
      "plt.figure(); plt.plot([2, 1]); plt.show()");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = r.Json();
  int pngs = 0;
  for (const auto& output : j["outputs"]) pngs += output["data"].contains("image/png") ? 1 : 0;
  EXPECT_EQ(pngs, 2);
  EXPECT_EQ(j["result_base64"], j["outputs"][1]["data"]["image/png"]);
}

TEST_F(ExecuteTest, PythonErrorIs400WithTracebackAndEarlierOutput) {
  const auto r = client().Execute("errors", "print('before')\nundefined_name");
  ASSERT_EQ(r.status, 400) << r.body;
  const auto j = r.Json();
  EXPECT_EQ(j["detail"], "NameError: name 'undefined_name' is not defined");
  EXPECT_EQ(j["error"]["ename"], "NameError");
  EXPECT_EQ(j["stdout"], "before\n");
  ASSERT_TRUE(j["error"]["traceback"].is_array());
  for (const auto& line : j["error"]["traceback"]) {
    EXPECT_EQ(line.get<std::string>().find('\x1b'), std::string::npos)
        << "ANSI escape left in " << line;
  }
  EXPECT_EQ(j["state_preserved"], true);
}

TEST_F(ExecuteTest, StdoutAndStderrKeptApart) {
  const auto r =
      client().Execute("streams", "import sys\nprint('out')\nprint('err', file=sys.stderr)");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = r.Json();
  EXPECT_EQ(j["stdout"], "out\n");
  EXPECT_EQ(j["stderr"], "err\n");
  EXPECT_EQ(j["result_text"], "out\n");
}

TEST_F(ExecuteTest, InfiniteLoopTimesOutAndStateSurvives) {
  const HttpClient c = client();
  ASSERT_EQ(c.Execute("loop", "kept = 42").status, 200);
  auto r = c.Execute("loop", "while True: pass", 1);
  ASSERT_EQ(r.status, 400) << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["state_preserved"], true);
  EXPECT_EQ(j["error"]["ename"], "KeyboardInterrupt");
  r = c.Execute("loop", "kept");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "42");
}

TEST_F(ExecuteTest, KernelIgnoringInterruptIsReplacedAndSaysStateWasLost) {
  const HttpClient c = client();
  ASSERT_EQ(c.Execute("stubborn", "kept = 1").status, 200);
  auto r =
      c.Execute("stubborn",
                "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass", 1);
  ASSERT_EQ(r.status, 400) << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["state_preserved"], false);
  r = c.Execute("stubborn", "kept");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["ename"], "NameError");
  EXPECT_EQ(c.Execute("stubborn", "1 + 1").Json()["result_text"], "2");
}

TEST_F(ExecuteTest, OsExitIsReportedAndTheSessionRecovers) {
  const HttpClient c = client();
  ASSERT_EQ(c.Execute("exits", "kept = 1").status, 200);
  auto r = c.Execute("exits", "import os\nos._exit(1)");
  ASSERT_EQ(r.status, 400) << r.body;
  auto j = r.Json();
  EXPECT_EQ(j["state_preserved"], false);
  EXPECT_NE(j["detail"].get<std::string>().find("exit code 1"), std::string::npos) << j["detail"];
  r = c.Execute("exits", "print('alive')");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["stdout"], "alive\n");
}

TEST_F(ExecuteTest, KernelKilledWhileIdleIsReportedOnTheNextRequest) {
  const HttpClient c = client();
  const std::string marker = "ci-killed-" + std::to_string(server_->port());
  auto r = c.Execute("killed", testing_support::OpenMarkerCode(marker) + "kept = 1");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto pids = testing_support::HostPidsHolding(marker);
  ASSERT_EQ(pids.size(), 1u);
  const auto busy = [&] { return c.Get("/status").Json()["busy_workers"].get<int>(); };
  const int busy_before = busy();
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  // The pool notices the exit on its own (the session loses its worker); the next request
  // must say the state is gone.
  ASSERT_TRUE(testing_support::WaitFor([&] { return busy() == busy_before - 1; }, 10));
  r = c.Execute("killed", "'kept' in globals()");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = r.Json();
  EXPECT_EQ(j["result_text"], "False");
  EXPECT_EQ(j["state_preserved"], false);
  EXPECT_TRUE(j["notice"].is_string());
  EXPECT_EQ(c.Execute("killed", "1").Json()["state_preserved"], true);
  std::filesystem::remove("/tmp/" + marker);  // left on the host by --sandbox=none
}

TEST_F(ExecuteTest, LargeOutputIsTruncated) {
  const auto r = client().Execute("large", "print('x' * (3 * 1024 * 1024))");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  const auto j = r.Json();
  EXPECT_EQ(j["truncated"], true);
  EXPECT_LE(j["stdout"].get<std::string>().size(), 1024u * 1024u);
  EXPECT_GT(j["stdout"].get<std::string>().size(), 512u * 1024u);
}

TEST_F(ExecuteTest, ReleaseThenReuseGivesAFreshKernel) {
  const HttpClient c = client();
  ASSERT_EQ(c.Execute("reuse", "kept = 1").status, 200);
  ASSERT_EQ(c.Release("reuse").Json()["detail"], "Worker for user reuse has been released.");
  EXPECT_EQ(c.Release("reuse").Json()["detail"], "No worker was assigned to user reuse.");
  const auto r = c.Execute("reuse", "'kept' in globals()");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "False");
}

TEST_F(ExecuteTest, StatusReportsSeedFieldsAndMore) {
  const auto r = client().Get("/status");
  ASSERT_EQ(r.status, 200);
  const auto j = r.Json();
  for (const char* field : {"total_workers", "busy_workers", "idle_workers_in_pool",
                            "executing_workers", "max_workers", "min_idle_workers"}) {
    EXPECT_TRUE(j[field].is_number_integer()) << field;
  }
  EXPECT_TRUE(j["is_initializing"].is_boolean());
  EXPECT_EQ(j["sandbox"], testing_support::TestSandbox());
  EXPECT_EQ(j["max_workers"], 16);
}

TEST_F(ExecuteTest, BadRequestsGetClearErrors) {
  const HttpClient c = client();
  const HttpClient wrong(server_->port(), "not-the-token");
  EXPECT_EQ(c.Post("/execute", R"({"user_uuid":"u","code":"1"})", false).status, 401);
  EXPECT_EQ(wrong.Execute("u", "1").status, 401);
  EXPECT_EQ(wrong.Get("/status").status, 401);
  EXPECT_EQ(wrong.Release("u").status, 401);
  EXPECT_EQ(c.Get("/health", false).status, 200);
  EXPECT_EQ(c.Get("/", false).headers["content-type"], "text/html; charset=utf-8");

  auto r = c.Post("/execute", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(r.Json()["detail"].is_string());
  EXPECT_EQ(c.Post("/execute", R"({"code":"1"})").status, 400);
  EXPECT_EQ(c.Post("/execute", R"({"user_uuid":"","code":"1"})").status, 400);
  EXPECT_EQ(c.Post("/execute", R"({"user_uuid":"u","code":1})").status, 400);
  EXPECT_EQ(c.Execute(std::string(257, 'u'), "1").status, 400);
  EXPECT_EQ(c.Post("/execute", R"({"user_uuid":"u","code":"1","timeout":100000})").status, 400);
  EXPECT_EQ(c.Get("/nope").status, 404);
  EXPECT_EQ(c.Get("/execute").status, 405);

  r = c.Post("/execute",
             nlohmann::json{{"user_uuid", "big"}, {"code", std::string(3 << 20, 'x')}}.dump());
  EXPECT_EQ(r.status, 413);
  // The service keeps serving after all of that, and odd ids are just ids.
  r = c.Execute("../../etc/passwd; rm -rf /\n\xe2\x98\x83", "1 + 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["result_text"], "2");
}

TEST_F(ExecuteTest, UsageComesFromTheWorkersCgroup) {
  const HttpClient c = client();
  // Half a second of the kernel's own CPU time, however loaded the machine is.
  auto busy = c.Execute(
      "usage", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass");
  ASSERT_EQ(busy.status, 200) << busy.body;
  if (testing_support::TestSandbox() == "none") {
    EXPECT_FALSE(busy.Json().contains("usage")) << "no cgroup to ask";
    return;
  }
  const auto usage = busy.Json()["usage"];
  ASSERT_TRUE(usage.is_object()) << busy.body;
  EXPECT_GE(usage["cpu_ms"].get<double>(), 490) << usage;
  EXPECT_LT(usage["cpu_ms"].get<double>(), 1500) << usage;
  auto big = c.Execute("usage", "x = bytearray(150 << 20)");
  ASSERT_EQ(big.status, 200) << big.body;
  EXPECT_GE(big.Json()["usage"]["peak_memory_mb"].get<double>(), 150) << big.body;
  auto idle = c.Execute("usage", "del x");
  auto small = c.Execute("usage", "1");
  EXPECT_LT(small.Json()["usage"]["cpu_ms"].get<double>(), 250) << small.body;
}

TEST(MemoryTest, AllocatingTooMuchFailsTheCellAndKeepsTheSession) {
  if (testing_support::TestSandbox() == "none") GTEST_SKIP() << "no memory limit without a sandbox";
  ServerProcess server({"--min-idle", "1", "--memory-mb", "512"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  ASSERT_EQ(c.Execute("m", "keep = 41").status, 200);
  int kept = 0;
  const int rounds = 10;
  for (int i = 0; i < rounds; ++i) {
    const std::string code =
        i % 2 == 0 ? "b = bytearray(4 << 30)" : "l = []\nwhile True: l.append(' ' * 10**6)";
    auto r = c.Execute("m", code, 60);
    const auto j = r.Json();
    const bool memory_error = j.contains("error") && j["error"]["ename"] == "MemoryError";
    if (memory_error && j["state_preserved"] == true) ++kept;
    c.Execute("m", "l = None");
  }
  std::cout << "out-of-memory cells that kept the session: " << kept << "/" << rounds << "\n";
  EXPECT_GE(kept, 9);
  auto after = c.Execute("m", "print(keep + 1)");
  EXPECT_EQ(after.Json()["stdout"], "42\n") << after.body.substr(0, 300);
}

TEST(SlowClientTest, IncompleteRequestIsCutOffAfterTheReadTimeout) {
  ServerProcess server({"--min-idle", "0", "--read-timeout", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const auto start = std::chrono::steady_clock::now();
  // A header without its final blank line keeps the server waiting for more, until the
  // read timeout closes the connection.
  const std::string reply =
      server.Client().RawWithoutShutdown("POST /execute HTTP/1.1\r\nHost: x\r\n");
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(reply, "");
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 10);
  EXPECT_EQ(server.Client().Get("/health", false).status, 200);
}

}  // namespace
