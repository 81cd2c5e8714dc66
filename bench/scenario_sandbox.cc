// Sandbox cost: per backend, a kernel start (launch until ready, warm-up cells included, the
// way the pool starts a worker) and `1+1` driven directly through KernelHub, next to the
// plain-process backend (`none`) measured in the same run. Starts go round-robin over the
// backends and executions alternate in blocks of 50, so every backend sees the same machine.
#include <memory>

#include "hub_kernel.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

constexpr std::size_t kStreamCap = (1u << 20) + 4096;  // as the pool sets it by default

}  // namespace

Section RunSandbox(const RunConfig& config) {
  Section section;
  section.id = "sandbox";
  section.title = "Sandbox cost: kernel start and `1+1` per backend vs a plain process";
  section.setup =
      "Per backend, the gateway's launcher used in-process: kernel start = launch until "
      "kernel_info answered, iopub connected and the warm-up cells ran (what the pool waits "
      "for before a worker is idle); starts round-robin over the backends, each kernel killed "
      "after. Then one kernel per backend runs `1+1` through KernelHub, the backends "
      "alternating in blocks of 50. Baseline: `none`, a plain process with no isolation.";
  std::vector<std::string> backends = {"none"};
  for (const std::string b : {"namespaces", "docker"})
    if (config.Has(b)) backends.push_back(b);
  const int starts = config.Count(8, 3);
  const int iterations = config.Count(600, 100);
  Progress("sandbox: %d starts and %d executions per backend (%zu backends)", starts, iterations,
           backends.size());

  std::vector<std::unique_ptr<sandbox::Launcher>> launchers;
  for (const auto& b : backends) launchers.push_back(MakeLauncher(b));
  const std::size_t n = backends.size();
  std::vector<std::vector<double>> start_ms(n), exec_ms(n);
  for (int i = 0; i < starts; ++i) {
    for (std::size_t b = 0; b < n; ++b) {
      const auto t0 = Clock::now();
      auto kernel = std::make_unique<HubKernel>(*launchers[b], kStreamCap);
      start_ms[b].push_back(MsSince(t0));
    }
  }
  std::vector<std::unique_ptr<HubKernel>> kernels;
  for (auto& launcher : launchers)
    kernels.push_back(std::make_unique<HubKernel>(*launcher, kStreamCap));
  int failures = 0;
  const auto once = [&](HubKernel& k) { return TimeOnce([&] { return k.Once(); }, failures); };
  for (int i = 0; i < 50; ++i)
    for (auto& k : kernels) once(*k);
  failures = 0;
  constexpr int kBlock = 50;
  while (static_cast<int>(exec_ms[0].size()) < iterations) {
    for (std::size_t b = 0; b < n; ++b)
      for (int i = 0; i < kBlock; ++i) exec_ms[b].push_back(once(*kernels[b]));
  }
  kernels.clear();

  const Percentiles start0 = Summary(start_ms[0]), exec0 = Summary(exec_ms[0]);
  for (std::size_t b = 0; b < n; ++b) {
    const Percentiles s = Summary(start_ms[b]), e = Summary(exec_ms[b]);
    const bool base = b == 0;
    const std::string limit =
        backends[b] == "none" ? "Python importing ipykernel + IPython, then the warm-up cells"
        : backends[b] == "namespaces"
            ? "as none, plus cgroups, clone into new namespaces, the mount tree, seccomp"
            : "as namespaces, plus four Engine API calls, runc and docker-init";
    section.rows.push_back({"kernel start p50, " + backends[b], s.p50, "ms", base ? "" : "none",
                            base ? NAN : start0.p50, "", std::nullopt, limit});
    section.rows.push_back(
        {"direct `1+1` p50, " + backends[b], e.p50, "ms", base ? "" : "none",
         base ? NAN : exec0.p50, "", std::nullopt,
         base ? "the kernel" : "the kernel; the sandbox is not on the path (same ipc sockets)"});
    section.rows.push_back({"direct `1+1` p99, " + backends[b], e.p99, "ms", base ? "" : "none",
                            base ? NAN : exec0.p99, "", std::nullopt, ""});
    section.data[backends[b]] = {{"starts", starts},
                                 {"iterations", iterations},
                                 {"start_ms", ToJson(s)},
                                 {"exec_ms", ToJson(e)}};
  }
  if (failures > 0) section.notes.push_back(std::to_string(failures) + " executions failed");
  return section;
}

}  // namespace bench
