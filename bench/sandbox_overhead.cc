// sandbox_overhead: what each sandbox backend costs, in one run: time from spawn (for docker:
// container create) to kernel ready, and `1+1` round-trip latency, next to a plain process.
//
//   sudo build/default/bench/sandbox_overhead [starts=10] [iterations=1000]
//   [backends=none,namespaces] sudo build/default/bench/sandbox_overhead 10 1000
//   none,namespaces,docker
//
// Kernels are started round-robin over the backends; executions alternate in blocks of 50
// between one kernel of each, so every backend sees the same machine. The docker backend
// needs a running engine and the worker image (scripts/docker-engine.sh).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "direct_kernel.h"
#include "sandbox/docker_launcher.h"
#include "sandbox/namespaces_launcher.h"
#include "sandbox/process_launcher.h"
#include "stats.h"

namespace {

std::unique_ptr<sandbox::Launcher> Make(const std::string& name) {
  const std::string instance = "bench-" + std::to_string(::getpid());
  if (name == "none") return std::make_unique<sandbox::ProcessLauncher>();
  if (name == "namespaces") {
    if (auto host = sandbox::NamespacesLauncher::CheckHost(); !host) {
      std::fprintf(stderr, "namespaces sandbox unavailable: %s\n", host.error().message.c_str());
      std::exit(1);
    }
    return std::make_unique<sandbox::NamespacesLauncher>(sandbox::Limits{}, instance, CI_BINARY);
  }
  if (name == "docker") {
    sandbox::DockerOptions options;
    options.socket = *sandbox::docker::SocketFromDockerHost(std::getenv("DOCKER_HOST"));
    options.instance = instance;
    auto launcher = std::make_unique<sandbox::DockerLauncher>(options);
    if (auto checked = launcher->Check(); !checked) {
      std::fprintf(stderr, "docker sandbox unavailable: %s\n", checked.error().message.c_str());
      std::exit(1);
    }
    return launcher;
  }
  std::fprintf(stderr, "unknown backend %s (none, namespaces, docker)\n", name.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const int starts = argc > 1 ? std::atoi(argv[1]) : 10;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 1000;
  std::vector<std::string> names;
  std::istringstream list(argc > 3 ? argv[3] : "none,namespaces");
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);

  std::vector<std::unique_ptr<sandbox::Launcher>> launchers;
  for (const auto& name : names) launchers.push_back(Make(name));
  const std::size_t n = launchers.size();

  std::vector<std::vector<double>> start(n), exec(n);
  for (int i = 0; i < starts; ++i) {
    for (std::size_t b = 0; b < n; ++b) start[b].push_back(DirectKernel(*launchers[b]).start_ms());
  }
  std::vector<std::unique_ptr<DirectKernel>> kernels;
  for (auto& launcher : launchers) kernels.push_back(std::make_unique<DirectKernel>(*launcher));
  for (int i = 0; i < 100; ++i) {  // warm-up
    for (auto& k : kernels) bench::Measure([&] { return k->Once(); });
  }
  constexpr int kBlock = 50;
  while (static_cast<int>(exec[0].size()) < iterations) {
    for (std::size_t b = 0; b < n; ++b) {
      for (int i = 0; i < kBlock; ++i)
        exec[b].push_back(bench::Measure([&] { return kernels[b]->Once(); }));
    }
  }
  kernels.clear();

  std::printf(
      "sandbox_overhead: %d kernel starts per backend, %d executions of `1+1` per backend\n",
      starts, iterations);
  std::printf("%-34s %8s %8s %8s %8s\n", "measurement", "p50 ms", "p90 ms", "p99 ms", "mean ms");
  std::vector<bench::Stats> s_start, s_exec;
  for (std::size_t b = 0; b < n; ++b) {
    s_start.push_back(bench::Summarize(start[b]));
    s_exec.push_back(bench::Summarize(exec[b]));
  }
  const auto row = [](const std::string& what, const bench::Stats& s) {
    std::printf("%-34s %8.3f %8.3f %8.3f %8.3f\n", what.c_str(), s.p50, s.p90, s.p99, s.mean);
  };
  for (std::size_t b = 0; b < n; ++b) row("spawn to ready, " + names[b], s_start[b]);
  for (std::size_t b = 0; b < n; ++b) row("1+1 round trip, " + names[b], s_exec[b]);
  for (std::size_t b = 1; b < n; ++b) {
    for (std::size_t base = 0; base < b; ++base) {
      std::printf(
          "%s vs %s: start p50 %+.1f%% (mean %+.1f%%), execution p50 %+.1f%% (p99 %+.1f%%)\n",
          names[b].c_str(), names[base].c_str(), 100.0 * (s_start[b].p50 / s_start[base].p50 - 1),
          100.0 * (s_start[b].mean / s_start[base].mean - 1),
          100.0 * (s_exec[b].p50 / s_exec[base].p50 - 1),
          100.0 * (s_exec[b].p99 / s_exec[base].p99 - 1));
    }
  }
  return 0;
}
