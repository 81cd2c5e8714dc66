// Memory per idle worker: RSS and PSS (from /proc/<pid>/smaps_rollup) summed over every
// process of a worker's sandbox, averaged over K warm idle workers, per backend; the plain
// process (`none`) is the baseline.
#include "gateway.h"
#include "proc_stats.h"
#include "scenarios.h"

namespace bench {
namespace {

struct PerWorker {
  Memory sandbox;  // the sandbox's processes (init + kernel)
  Memory shim;     // docker only: with the containerd-shim that holds the container
  int workers = 0;
  double gateway_rss_mb = 0;
};

PerWorker Measure(const std::string& backend, int workers) {
  PerWorker out;
  Gateway gateway(
      backend, {"--min-idle", std::to_string(workers), "--max-workers", std::to_string(workers)});
  if (!gateway.ok() || !gateway.WaitIdle(workers, 300)) return out;
  const auto trees = gateway.WorkerTrees(/*with_shim=*/false);
  const auto with_shim = gateway.WorkerTrees(/*with_shim=*/true);
  out.workers = static_cast<int>(trees.size());
  for (const auto& tree : trees) {
    const Memory m = MemoryOf(tree);
    out.sandbox.rss_mb += m.rss_mb / out.workers;
    out.sandbox.pss_mb += m.pss_mb / out.workers;
  }
  for (const auto& tree : with_shim) {
    const Memory m = MemoryOf(tree);
    out.shim.rss_mb += m.rss_mb / out.workers;
    out.shim.pss_mb += m.pss_mb / out.workers;
  }
  out.gateway_rss_mb = RssMb(gateway.pid());
  return out;
}

}  // namespace

Section RunMemory(const RunConfig& config) {
  Section section;
  section.id = "memory";
  section.title = "Memory per idle worker";
  const int workers = config.Count(6, 2);
  section.setup =
      "Per backend, `serve --min-idle " + std::to_string(workers) + " --max-workers " +
      std::to_string(workers) +
      "`, warm and idle (no code run). RSS and PSS summed over every process of a worker's "
      "sandbox (namespaces: its init and the kernel; docker: the container's init and the "
      "kernel, and separately with the containerd-shim), averaged over the workers. PSS "
      "splits shared pages (libpython, page cache of the same files) among the kernels that "
      "map them, so it is the memory one more worker costs.";
  Memory none;
  for (const std::string backend : {"none", "namespaces", "docker"}) {
    if (!config.Has(backend)) continue;
    Progress("memory/%s: %d idle workers", backend.c_str(), workers);
    const PerWorker m = Measure(backend, workers);
    if (m.workers == 0) {
      section.notes.push_back(backend + ": no worker became ready");
      continue;
    }
    if (backend == std::string("none")) none = m.sandbox;
    const std::string base = none.pss_mb > 0 ? "plain process (none)" : "";
    const double base_pss = none.pss_mb > 0 ? none.pss_mb : NAN;
    const double base_rss = none.rss_mb > 0 ? none.rss_mb : NAN;
    section.rows.push_back({"idle worker PSS, " + std::string(backend), m.sandbox.pss_mb, "MB",
                            base, base_pss, "", std::nullopt,
                            "Python + ipykernel + IPython imports"});
    section.rows.push_back({"idle worker RSS, " + std::string(backend), m.sandbox.rss_mb, "MB",
                            base, base_rss, "", std::nullopt, "counts shared pages fully"});
    if (backend == std::string("docker")) {
      section.rows.push_back({"idle worker PSS with containerd-shim, docker", m.shim.pss_mb, "MB",
                              base, base_pss, "", std::nullopt, "one shim per container"});
    }
    section.notes.push_back(std::string(backend) + ": " + std::to_string(m.workers) +
                            " workers; idle workers that fit in 24 GiB by PSS: about " +
                            Format(24 * 1024 / m.sandbox.pss_mb) + "; gateway RSS " +
                            Format(m.gateway_rss_mb) + " MB.");
    section.data[backend] = {{"workers", m.workers},
                             {"rss_mb", m.sandbox.rss_mb},
                             {"pss_mb", m.sandbox.pss_mb},
                             {"with_shim_rss_mb", m.shim.rss_mb},
                             {"with_shim_pss_mb", m.shim.pss_mb},
                             {"gateway_rss_mb", m.gateway_rss_mb}};
  }
  return section;
}

}  // namespace bench
