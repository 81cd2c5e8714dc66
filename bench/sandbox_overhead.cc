// sandbox_overhead: what the namespaces sandbox costs against a plain process, in one run:
// time from spawn to kernel ready, and `1+1` round-trip latency inside vs outside.
//
//   sudo build/default/bench/sandbox_overhead [starts=10] [iterations=1000]
//
// Kernels are started alternately with each backend; executions alternate in blocks of 50
// between one kernel of each, so both see the same machine.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "direct_kernel.h"
#include "sandbox/namespaces_launcher.h"
#include "sandbox/process_launcher.h"
#include "stats.h"

int main(int argc, char** argv) {
  const int starts = argc > 1 ? std::atoi(argv[1]) : 10;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 1000;
  if (auto host = sandbox::NamespacesLauncher::CheckHost(); !host) {
    std::fprintf(stderr, "namespaces sandbox unavailable: %s\n", host.error().message.c_str());
    return 1;
  }
  sandbox::ProcessLauncher none;
  sandbox::NamespacesLauncher namespaces(sandbox::Limits{}, "bench-" + std::to_string(::getpid()),
                                         CI_BINARY);

  std::vector<double> start_none, start_ns;
  for (int i = 0; i < starts; ++i) {
    start_none.push_back(DirectKernel(none).start_ms());
    start_ns.push_back(DirectKernel(namespaces).start_ms());
  }

  DirectKernel plain(none);
  DirectKernel boxed(namespaces);
  std::vector<double> exec_none, exec_ns;
  for (int i = 0; i < 100; ++i) {  // warm-up
    bench::Measure([&] { return plain.Once(); });
    bench::Measure([&] { return boxed.Once(); });
  }
  constexpr int kBlock = 50;
  while (static_cast<int>(exec_none.size()) < iterations) {
    for (int i = 0; i < kBlock; ++i)
      exec_none.push_back(bench::Measure([&] { return plain.Once(); }));
    for (int i = 0; i < kBlock; ++i)
      exec_ns.push_back(bench::Measure([&] { return boxed.Once(); }));
  }

  const auto row = [](const char* what, const bench::Stats& s) {
    std::printf("%-34s %8.3f %8.3f %8.3f %8.3f\n", what, s.p50, s.p90, s.p99, s.mean);
  };
  const auto sn = bench::Summarize(start_none), sb = bench::Summarize(start_ns);
  const auto en = bench::Summarize(exec_none), eb = bench::Summarize(exec_ns);
  std::printf(
      "sandbox_overhead: %d kernel starts per backend, %d executions of `1+1` per backend\n",
      starts, iterations);
  std::printf("%-34s %8s %8s %8s %8s\n", "measurement", "p50 ms", "p90 ms", "p99 ms", "mean ms");
  row("spawn to ready, none", sn);
  row("spawn to ready, namespaces", sb);
  row("1+1 round trip, none", en);
  row("1+1 round trip, namespaces", eb);
  std::printf(
      "sandbox adds: start p50 %+.1f%% (mean %+.1f%%), execution p50 %+.1f%% (p99 %+.1f%%)\n",
      100.0 * (sb.p50 / sn.p50 - 1), 100.0 * (sb.mean / sn.mean - 1), 100.0 * (eb.p50 / en.p50 - 1),
      100.0 * (eb.p99 / en.p99 - 1));
  return 0;
}
