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

std::vector<double> DirectRun(int iterations, int warmup) {
  char templ[] = "/tmp/ci-bench-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(templ);
  sandbox::WorkerSpec spec;
  spec.name = "bench";
  spec.dir = dir;
  spec.connection_file = dir / "kernel.json";
  spec.connection = *jupyter::NewConnection(dir);
  spec.env["MPLCONFIGDIR"] = (dir / "mpl").string();
  if (!jupyter::WriteConnectionFile(spec.connection, spec.connection_file)) std::exit(1);
  sandbox::ProcessLauncher launcher;
  auto kernel = launcher.Launch(spec);
  if (!kernel) {
    std::fprintf(stderr, "launch failed: %s\n", kernel.error().message.c_str());
    std::exit(1);
  }
  // Callbacks run on the hub thread: the measurement includes the same thread hop the
  // gateway's pool has, minus HTTP and the pool.
  jupyter::KernelHub hub({}, [](std::function<void()> fn) { fn(); });
  hub.Connect(1, spec.connection);
  std::promise<bool> ready;
  hub.WaitReady(1, std::chrono::seconds(60), [&](common::Result<void> r) { ready.set_value(r.has_value()); });
  if (!ready.get_future().get()) std::exit(1);
  const auto once = [&] {
    std::promise<bool> done;
    hub.Execute(1, "1+1", {}, [&](jupyter::ExecutionResult r) { done.set_value(r.result_text == "2"); });
    return done.get_future().get();
  };
  std::vector<double> samples;
  for (int i = 0; i < warmup; ++i) Measure(once);
  for (int i = 0; i < iterations; ++i) samples.push_back(Measure(once));
  hub.Disconnect(1);
  (*kernel)->Kill();
  std::filesystem::remove_all(dir);
  return samples;
}

std::vector<double> GatewayRun(int iterations, int warmup) {
  testing_support::ServerProcess server({"--min-idle", "1", "--max-workers", "2"});
  if (!server.ok()) {
    std::fprintf(stderr, "server did not start:\n%s\n", server.Log().c_str());
    std::exit(1);
  }
  KeepAlive connection(server.port());
  const std::string body = nlohmann::json{{"user_uuid", "bench"}, {"code", "1+1"}}.dump();
  const auto once = [&] {
    const std::string reply = connection.Post("/execute", server.token(), body);
    return reply.find("\"result_text\":\"2\"") != std::string::npos;
  };
  std::vector<double> samples;
  for (int i = 0; i < warmup; ++i) Measure(once);
  for (int i = 0; i < iterations; ++i) samples.push_back(Measure(once));
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int warmup = argc > 2 ? std::atoi(argv[2]) : 100;
  std::printf("exec_latency: `1+1`, %d iterations after %d warm-up, sequential, one session\n", iterations, warmup);
  const Stats direct = Summarize(DirectRun(iterations, warmup));
  const Stats gateway = Summarize(GatewayRun(iterations, warmup));
  std::printf("%-28s %8s %8s %8s %8s\n", "path", "p50 ms", "p90 ms", "p99 ms", "mean ms");
  std::printf("%-28s %8.3f %8.3f %8.3f %8.3f\n", "direct ZeroMQ (KernelHub)", direct.p50, direct.p90, direct.p99,
              direct.mean);
  std::printf("%-28s %8.3f %8.3f %8.3f %8.3f\n", "HTTP gateway (keep-alive)", gateway.p50, gateway.p90, gateway.p99,
              gateway.mean);
  std::printf("gateway overhead: p50 %+.1f%% (%+.3f ms), p99 %+.1f%% (%+.3f ms)\n",
              100.0 * (gateway.p50 / direct.p50 - 1), gateway.p50 - direct.p50,
              100.0 * (gateway.p99 / direct.p99 - 1), gateway.p99 - direct.p99);
  return 0;
}
