// exec_latency: round-trip latency of `1+1`, through the HTTP gateway and through a direct
// ZeroMQ client (KernelHub) on a kernel started the same way, in one run.
//
//   build/default/bench/exec_latency [iterations=1000] [warmup=100]
//
// Prints p50/p90/p99/mean for both and the gateway's overhead at p50 and p99.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "direct_kernel.h"
#include "jupyter/kernel_hub.h"
#include "sandbox/process_launcher.h"
#include "stats.h"
#include "support/server_process.h"

namespace {

// A keep-alive HTTP/1.1 connection, as a real client library would hold.
class KeepAlive {
 public:
  explicit KeepAlive(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::exit(1);
    const int one = 1;
    ::setsockopt(fd_.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  // POSTs `body` and returns the response body ("" on failure).
  std::string Post(const std::string& path, const std::string& token, const std::string& body) {
    const std::string request =
        "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: " + token +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    if (::send(fd_.Get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return {};
    }
    std::string raw;
    std::size_t head_end = std::string::npos, length = 0;
    char buf[8192];
    while (head_end == std::string::npos || raw.size() < head_end + 4 + length) {
      const ssize_t n = ::recv(fd_.Get(), buf, sizeof buf, 0);
      if (n <= 0) return {};
      raw.append(buf, static_cast<std::size_t>(n));
      if (head_end == std::string::npos && (head_end = raw.find("\r\n\r\n")) != std::string::npos) {
        const auto cl = raw.find("Content-Length: ");
        if (cl == std::string::npos || cl > head_end) return {};
        length = std::stoul(raw.substr(cl + 16));
      }
    }
    if (raw.rfind("HTTP/1.1 200", 0) != 0) return {};
    return raw.substr(head_end + 4, length);
  }

 private:
  common::UniqueFd fd_;
};

class GatewayKernel {
 public:
  GatewayKernel()
      : server_({"--min-idle", "0", "--max-workers", "1"}),
        connection_(server_.ok() ? server_.port() : 0),
        body_(nlohmann::json{{"user_uuid", "bench"}, {"code", "1+1"}}.dump()) {}

  bool Once() {
    return connection_.Post("/execute", server_.token(), body_).find("\"result_text\":\"2\"") !=
           std::string::npos;
  }

 private:
  testing_support::ServerProcess server_;
  KeepAlive connection_;
  std::string body_;
};

}  // namespace

using bench::Measure;
using bench::Stats;
using bench::Summarize;

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int warmup = argc > 2 ? std::atoi(argv[2]) : 100;
  constexpr int kBlock = 50;
  std::printf(
      "exec_latency: `1+1`, %d iterations per path after %d warm-up, sequential, one session,\n"
      "paths interleaved in blocks of %d so both see the same machine\n",
      iterations, warmup, kBlock);
  sandbox::ProcessLauncher launcher;
  DirectKernel direct(launcher);
  GatewayKernel gateway;
  std::vector<double> direct_ms, gateway_ms;
  for (int i = 0; i < warmup; ++i) {
    Measure([&] { return direct.Once(); });
    Measure([&] { return gateway.Once(); });
  }
  while (static_cast<int>(direct_ms.size()) < iterations) {
    for (int i = 0; i < kBlock; ++i) direct_ms.push_back(Measure([&] { return direct.Once(); }));
    for (int i = 0; i < kBlock; ++i) gateway_ms.push_back(Measure([&] { return gateway.Once(); }));
  }
  const Stats d = Summarize(direct_ms);
  const Stats g = Summarize(gateway_ms);
  std::printf("%-28s %8s %8s %8s %8s\n", "path", "p50 ms", "p90 ms", "p99 ms", "mean ms");
  std::printf("%-28s %8.3f %8.3f %8.3f %8.3f\n", "direct ZeroMQ (KernelHub)", d.p50, d.p90, d.p99,
              d.mean);
  std::printf("%-28s %8.3f %8.3f %8.3f %8.3f\n", "HTTP gateway (keep-alive)", g.p50, g.p90, g.p99,
              g.mean);
  std::printf("gateway overhead: p50 %+.1f%% (%+.3f ms), p99 %+.1f%% (%+.3f ms)\n",
              100.0 * (g.p50 / d.p50 - 1), g.p50 - d.p50, 100.0 * (g.p99 / d.p99 - 1),
              g.p99 - d.p99);
  return 0;
}
