// A hostile kernel against the gateway: user code that uses its kernel's own sockets and
// HMAC key (both are within its reach) to send what no honest kernel sends: huge messages,
// floods of valid or junk messages, outputs built to exceed every cap. The gateway must stay
// within its budgets (memory, log, time per other kernel), say `truncated` whenever it cut
// anything, and keep serving every other user on time. Each case asserts the bound it was
// measured against; the numbers found before the fix are in the comments.
//
// These attacks do not depend on the sandbox (they go through the kernel's sockets, which
// every backend hands to the gateway alike), so the suite runs on the default backend only.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "support/proc.h"
#include "support/server_process.h"

namespace {

using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ReadText;
using testing_support::RssKb;
using testing_support::ServerProcess;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's quarantine keeps freed memory: no RSS bounds
#else
constexpr bool kSanitized = false;
#endif

// The gateway's peak resident memory since the last reset, in KiB.
long PeakRssKb(pid_t pid) {
  const std::string status = ReadText("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmHWM:");
  return at == std::string::npos ? 0 : std::stol(status.substr(at + 6));
}

void ResetPeakRss(pid_t pid) {
  std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5";
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class HostileKernelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--min-idle", "3", "--max-workers", "8"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->Log(); }

  HttpClient Client() const { return server_->Client(); }
  pid_t Gateway() const { return server_->pid(); }

  // Runs `code` for a fresh user and returns the reply, with the gateway's peak RSS growth
  // during it in `growth_kb`.
  HttpReply RunMeasured(const std::string& user, const std::string& code, long& growth_kb) {
    const long before = RssKb(Gateway());
    ResetPeakRss(Gateway());
    HttpReply reply = Client().Execute(user, code, 60);
    growth_kb = PeakRssKb(Gateway()) - before;
    Client().Release(user);
    return reply;
  }

  static ServerProcess* server_;
};

ServerProcess* HostileKernelTest::server_ = nullptr;

// Before: one 16-frame message of 48 MiB frames took the gateway from 395 MB to 1.17 GB (the
// cap was per frame). Now a message is skipped once its frames together pass 64 MiB.
TEST_F(HostileKernelTest, OneMessageOfManyLargeFramesDoesNotGrowTheGateway) {
  long growth_kb = 0;
  const HttpReply reply = RunMeasured("frames", R"(
t = get_ipython().kernel.iopub_thread
frame = b'x' * (48 << 20)
t.schedule(lambda: t.socket.send_multipart([frame] * 16))
)",
                                      growth_kb);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(reply.Json()["truncated"].get<bool>()) << "something was cut: it must say so";
  std::cout << "gateway peak RSS growth: " << growth_kb / 1024 << " MiB\n";
  if (!kSanitized) {
    EXPECT_LT(growth_kb, 160 * 1024);
  }
}

// Before: display(..., metadata={'m': 'x' * 60000}) in a loop gave a 171-322 MB response with
// truncated false; metadata and the number of outputs counted against no cap.
TEST_F(HostileKernelTest, MetadataAndOutputCountAreBudgeted) {
  long growth_kb = 0;
  const HttpReply reply = RunMeasured("metadata", R"(
from IPython.display import display
for i in range(600):
    display({'text/plain': 'x'}, raw=True, metadata={'m': 'x' * 60000})
)",
                                      growth_kb);
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  EXPECT_TRUE(reply.Json()["truncated"].get<bool>());
  std::cout << "response " << reply.body.size() / 1024 << " KiB, gateway peak RSS growth "
            << growth_kb / 1024 << " MiB\n";
  EXPECT_LT(reply.body.size(), 20u << 20);  // the default caps: 1 + 16 + 2 MiB
  if (!kSanitized) {
    EXPECT_LT(growth_kb, 160 * 1024);
  }
}

// Before: a 20 MB exception message came back as a 40 MB response despite the 1 MiB text cap.
TEST_F(HostileKernelTest, AHugeExceptionMessageIsCutToTheTextCap) {
  long growth_kb = 0;
  const HttpReply reply = RunMeasured("exception", "raise Exception('A' * 20_000_000)", growth_kb);
  ASSERT_EQ(reply.status, 400) << reply.body.substr(0, 300);
  const auto body = reply.Json();
  EXPECT_EQ(body["error"]["ename"], "Exception");
  EXPECT_TRUE(body["truncated"].get<bool>());
  // The value, the traceback and the detail (which repeats the value) share the text cap.
  EXPECT_LT(reply.body.size(), 3u << 20);
}

// Before: output beyond the 64 MiB frame cap was dropped silently with truncated false.
TEST_F(HostileKernelTest, AnOutputOverTheMessageCapSaysTruncated) {
  long growth_kb = 0;
  const HttpReply reply = RunMeasured("oversized", R"(
from IPython.display import display
display({'image/png': 'A' * (70 << 20)}, raw=True)
print('after')
)",
                                      growth_kb);
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  EXPECT_TRUE(reply.Json()["truncated"].get<bool>());
  EXPECT_EQ(reply.Json()["stdout"], "after\n");
}

// Before: 1-byte junk messages wrote 131 MB of warnings into the log in 10 s. Now a kernel
// that keeps breaking the protocol is cut off, its session told why, and the log stays short.
TEST_F(HostileKernelTest, AJunkFloodIsCutOffAndTheLogStaysShort) {
  const std::size_t log_before = server_->Log().size();
  const auto start = Clock::now();
  const HttpReply reply = Client().Execute("junk", R"(
import time
t = get_ipython().kernel.iopub_thread
def junk():
    for i in range(200000):
        t.socket.send(b'j')
t.schedule(junk)
time.sleep(20)
)",
                                           60);
  const double ms = MsSince(start);
  ASSERT_EQ(reply.status, 400) << reply.body.substr(0, 300);
  const auto body = reply.Json();
  EXPECT_FALSE(body["state_preserved"].get<bool>());
  EXPECT_NE(body["detail"].get<std::string>().find("protocol"), std::string::npos)
      << body["detail"];
  EXPECT_LT(ms, 10000) << "cut off at once, not after the sleep";
  const std::size_t log_growth = server_->Log().size() - log_before;
  std::cout << "log growth: " << log_growth << " bytes in " << ms << " ms\n";
  EXPECT_LT(log_growth, 20u * 1024);
  // The user's next request runs in a fresh kernel.
  const HttpReply next = Client().Execute("junk", "1 + 1");
  EXPECT_EQ(next.status, 200) << next.body;
  Client().Release("junk");
}

// Before: a paced stream of validly signed 4 MiB messages from one kernel made another user's
// `p + 1` take 99.8 s, and a victim's time.sleep(8) with a 5 s timeout lost its state because
// the interrupt went out too late.
TEST_F(HostileKernelTest, AFloodingKernelDelaysNoOtherKernel) {
  ASSERT_EQ(Client().Execute("canary", "p = 1").status, 200);
  ASSERT_EQ(Client().Execute("victim", "v = 7").status, 200);
  const HttpReply started = Client().Execute("flooder", R"(
import threading, time
k = get_ipython().kernel
text = 'x' * (4 << 20)
def flood():
    end = time.time() + 10
    while time.time() < end:
        k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': text},
                       parent={'header': {'msg_id': 'not-yours', 'msg_type': 'x'}})
        time.sleep(0.01)
threading.Thread(target=flood, daemon=True).start()
time.sleep(1)  # the flood is under way when this returns
)");
  ASSERT_EQ(started.status, 200) << started.body;

  auto victim = std::async(std::launch::async, [this] {
    return Client().Execute("victim", "import time\ntime.sleep(8)", 5);
  });
  // Sample for most of the flood's remaining 9 s, so the p99 is over hundreds of requests.
  std::vector<double> latencies;
  const auto flood_sampled = Clock::now() + std::chrono::seconds(8);
  while (Clock::now() < flood_sampled || latencies.size() < 100) {
    const auto start = Clock::now();
    const HttpReply reply = Client().Execute("canary", "p + 1");
    latencies.push_back(MsSince(start));
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_EQ(reply.Json()["result_text"], "2");
  }
  std::sort(latencies.begin(), latencies.end());
  const double p50 = latencies[latencies.size() / 2];
  const double p99 = latencies[latencies.size() * 99 / 100];
  std::cout << "canary p + 1 during the flood: " << latencies.size() << " requests, p50 " << p50
            << " ms, p99 " << p99 << " ms, max " << latencies.back() << " ms\n";
  EXPECT_LT(p99, 500.0);  // target < 50 ms (measured, see docs/security.md); generous here

  const HttpReply interrupted = victim.get();
  ASSERT_EQ(interrupted.status, 400) << interrupted.body;
  EXPECT_TRUE(interrupted.Json()["timed_out"].get<bool>());
  EXPECT_TRUE(interrupted.Json()["state_preserved"].get<bool>()) << interrupted.body;
  const HttpReply kept = Client().Execute("victim", "v");
  EXPECT_EQ(kept.Json()["result_text"], "7") << kept.body;
  for (const char* user : {"canary", "victim", "flooder"}) Client().Release(user);
}

// Output still being read when the reply is in: the hub waits for status: idle while the
// kernel's output keeps arriving, however slowly, not one fixed second after the reply. (Seen
// once under ASan on a loaded machine: a 40 MB error message was still being read when that
// second ran out, and the answer came back without it.) Here a kernel held to 2 MiB/s sends
// 13 MiB of output, then a line: reading it takes seconds after the reply came.
TEST(HostileKernelSlowReadTest, OutputStillArrivingAfterTheReplyIsWaitedFor) {
  ServerProcess server({"--min-idle", "1", "--max-workers", "2", "--kernel-rate-mb", "2",
                        "--max-output-images", "4194304", "--max-kernel-message-mb", "8"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const auto start = Clock::now();
  const HttpReply reply = server.Client().Execute("slow", R"(
from IPython.display import display
display({'application/x-filler': 'A' * (7 << 20)}, raw=True)
display({'application/x-filler': 'B' * (6 << 20)}, raw=True)
print('after')
)",
                                                  60);
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  std::cout << "answered after " << MsSince(start) << " ms\n";
  EXPECT_EQ(reply.Json()["stdout"], "after\n") << reply.body.substr(0, 300);
  EXPECT_TRUE(reply.Json()["truncated"].get<bool>()) << "held back: output may be missing";
}

// Before: a NUL byte in the code hung the request until its timeout (ipykernel drops it).
TEST_F(HostileKernelTest, CodeWithANulByteIsRefusedAtOnce) {
  const auto start = Clock::now();
  const HttpReply reply =
      Client().Post("/execute", R"({"user_uuid": "nul", "code": "x = 1\u0000", "timeout": 20})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.body.find("NUL"), std::string::npos) << reply.body;
  EXPECT_LT(MsSince(start), 2000);
}

}  // namespace
