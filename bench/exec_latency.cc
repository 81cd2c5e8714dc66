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
#include "jupyter/kernel_hub.h"
#include "sandbox/process_launcher.h"
#include "support/server_process.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double p50, p90, p99, mean;
};

Stats Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))]; };
  double sum = 0;
  for (double v : ms) sum += v;
  return {at(0.50), at(0.90), at(0.99), sum / static_cast<double>(ms.size())};
}

double Measure(const std::function<bool()>& once) {
  const auto start = Clock::now();
  if (!once()) {
    std::fprintf(stderr, "request failed\n");
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

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
    const std::string request = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: " + token +
                                "\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd_.Get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
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

// A kernel started exactly as the pool starts one (ProcessLauncher, same arguments), driven
// through KernelHub with no HTTP and no pool in between.
class DirectKernel {
 public:
  DirectKernel() : hub_({}, [](std::function<void()> fn) { fn(); }) {
    char templ[] = "/tmp/ci-bench-XXXXXX";
    dir_ = ::mkdtemp(templ);
    sandbox::WorkerSpec spec;
    spec.name = "bench";
    spec.dir = dir_;
    spec.connection_file = dir_ / "kernel.json";
    spec.connection = *jupyter::NewConnection(dir_);
    spec.env["MPLCONFIGDIR"] = (dir_ / "mpl").string();
    if (!jupyter::WriteConnectionFile(spec.connection, spec.connection_file)) std::exit(1);
    auto kernel = launcher_.Launch(spec);
    if (!kernel) {
      std::fprintf(stderr, "launch failed: %s\n", kernel.error().message.c_str());
      std::exit(1);
    }
    kernel_ = std::move(*kernel);
    hub_.Connect(1, spec.connection);
    std::promise<bool> ready;
    hub_.WaitReady(1, std::chrono::seconds(60), [&](common::Result<void> r) { ready.set_value(r.has_value()); });
    if (!ready.get_future().get()) std::exit(1);
  }
  ~DirectKernel() {
    hub_.Disconnect(1);
    kernel_->Kill();
    std::filesystem::remove_all(dir_);
  }

  // Completion callbacks run on the hub thread and wake this one: the same one thread hop
  // back that the gateway's io thread takes.
  bool Once() {
    std::promise<bool> done;
    hub_.Execute(1, "1+1", {}, [&](jupyter::ExecutionResult r) { done.set_value(r.result_text == "2"); });
    return done.get_future().get();
  }

 private:
  std::filesystem::path dir_;
  sandbox::ProcessLauncher launcher_;
  jupyter::KernelHub hub_;
  std::unique_ptr<sandbox::Sandbox> kernel_;
};

class GatewayKernel {
 public:
  GatewayKernel()
      : server_({"--min-idle", "0", "--max-workers", "1"}),
        connection_(server_.ok() ? server_.port() : 0),
        body_(nlohmann::json{{"user_uuid", "bench"}, {"code", "1+1"}}.dump()) {}

  bool Once() {
    return connection_.Post("/execute", server_.token(), body_).find("\"result_text\":\"2\"") != std::string::npos;
  }

 private:
  testing_support::ServerProcess server_;
  KeepAlive connection_;
  std::string body_;
};

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int warmup = argc > 2 ? std::atoi(argv[2]) : 100;
  constexpr int kBlock = 50;
  std::printf("exec_latency: `1+1`, %d iterations per path after %d warm-up, sequential, one session,\n"
              "paths interleaved in blocks of %d so both see the same machine\n",
              iterations, warmup, kBlock);
  DirectKernel direct;
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
  std::printf("%-28s %8.3f %8.3f %8.3f %8.3f\n", "direct ZeroMQ (KernelHub)", d.p50, d.p90, d.p99, d.mean);
  std::printf("%-28s %8.3f %8.3f %8.3f %8.3f\n", "HTTP gateway (keep-alive)", g.p50, g.p90, g.p99, g.mean);
  std::printf("gateway overhead: p50 %+.1f%% (%+.3f ms), p99 %+.1f%% (%+.3f ms)\n", 100.0 * (g.p50 / d.p50 - 1),
              g.p50 - d.p50, 100.0 * (g.p99 / d.p99 - 1), g.p99 - d.p99);
  return 0;
}
