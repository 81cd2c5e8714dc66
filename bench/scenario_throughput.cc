// Throughput: N users, each sending M stateful requests one after another (`x += 1; x`, after
// an unmeasured `x = 0` that also binds the session), all users at once, against a warm pool
// that is already at --max-workers (so nothing starts or refills while measuring). Next to
// it the kernel-bound ceiling: cores / kernel CPU time per execution, the CPU time read from
// /proc/<pid>/stat of every worker process before and after.
#include <time.h>

#include "gateway.h"
#include "proc_stats.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Load {
  int users;
  int requests;  // per user
};

struct Measured {
  double rps = 0;
  Percentiles latency;
  double kernel_cpu_ms = 0;   // per execution, all worker processes
  double gateway_cpu_ms = 0;  // per request
  double loadgen_cpu_ms = 0;  // per request
  int ok = 0, failed = 0;
  double wall_s = 0;
};

Measured RunOne(Gateway& gateway, const Load& load) {
  std::vector<Script> reset(static_cast<std::size_t>(load.users));
  std::vector<Script> scripts(reset.size());
  for (int u = 0; u < load.users; ++u) {
    const std::string user = "tp-" + std::to_string(u);
    reset[u].steps.push_back({ExecuteBody(user, "x = 0"), ""});
    for (int k = 1; k <= load.requests; ++k) {
      scripts[u].steps.push_back(
          {ExecuteBody(user, "x += 1\nx"), "\"result_text\":\"" + std::to_string(k) + "\""});
    }
  }
  RunLoad(gateway.target(), reset, {});

  const std::vector<pid_t> kernels = gateway.WorkerPids();
  const double kernel0 = CpuSeconds(kernels), gateway0 = CpuSeconds(gateway.pid());
  const double self0 = ProcessCpuSeconds();
  const LoadResult result = RunLoad(gateway.target(), scripts, {});
  const double self1 = ProcessCpuSeconds();
  const double kernel1 = CpuSeconds(kernels), gateway1 = CpuSeconds(gateway.pid());

  Measured m;
  std::vector<double> latencies;
  for (const auto& exchanges : result.clients) {
    for (const Exchange& e : exchanges) {
      if (!e.ok) {
        ++m.failed;
        continue;
      }
      ++m.ok;
      latencies.push_back(e.LatencyMs());
    }
  }
  m.failed += load.users * load.requests - m.ok - m.failed;  // never sent
  m.wall_s = result.wall_ms / 1000.0;
  m.rps = m.ok / m.wall_s;
  m.latency = Summary(latencies);
  const double n = std::max(1, m.ok);
  m.kernel_cpu_ms = (kernel1 - kernel0) * 1000.0 / n;
  m.gateway_cpu_ms = (gateway1 - gateway0) * 1000.0 / n;
  m.loadgen_cpu_ms = (self1 - self0) * 1000.0 / n;
  return m;
}

}  // namespace

Section RunThroughput(const RunConfig& config) {
  Section section;
  section.id = "throughput";
  section.title = "Throughput: N users x M stateful requests";
  const std::string backend = config.backends.front();
  std::vector<Load> loads = {{1, config.Count(500, 60)}, {8, config.Count(200, 25)}};
  if (!config.quick) {
    loads.push_back({25, config.Count(100, 0)});
    loads.push_back({64, config.Count(50, 0)});
  }
  const int workers = PoolWorkers(config);
  section.setup =
      "One gateway (`--sandbox=" + backend + " --min-idle " + std::to_string(workers) +
      " --max-workers " + std::to_string(workers) + " --queue-limit " +
      std::to_string(PoolQueueLimit(config)) +
      "`), waited on until every worker is warm (so no worker starts while measuring). Per load, "
      "each user first sends an "
      "unmeasured `x = 0` (binding its session), then its M requests `x += 1; x` one after "
      "another on its own keep-alive connection, all users at once; each answer is checked "
      "(`result_text` must be the request's index, so state is kept). Ceiling = min(users, " +
      std::to_string(config.cores) +
      " cores) / kernel CPU time per execution (utime+stime of every worker process from "
      "/proc/<pid>/stat, before and after, divided by the executions). The load generator "
      "(one Asio thread) and the gateway run on the same cores.";

  Gateway* pool = SharedPool(config);
  if (pool == nullptr) {
    section.notes.push_back("the pool did not become warm");
    return section;
  }
  Gateway& gateway = *pool;
  section.notes.push_back("Pool start-up (not measured in the rows): " + std::to_string(workers) +
                          " workers warm in " + Format(SharedPoolWarmSeconds()) + " s.");

  double unloaded_p50 = NAN;
  for (const Load& load : loads) {
    Progress("throughput: %d users x %d requests", load.users, load.requests);
    const Measured m = RunOne(gateway, load);
    auto& sessions = SharedPoolSessions();
    for (int u = static_cast<int>(sessions.size()); u < load.users; ++u)
      sessions.push_back("tp-" + std::to_string(u));
    const std::string name =
        std::to_string(load.users) + " x " + std::to_string(load.requests) + ": ";
    // A user's requests are sequential: fewer users than cores cannot use every core.
    const double ceiling = std::min(load.users, config.cores) / (m.kernel_cpu_ms / 1000.0);
    const double machine =
        config.cores / ((m.kernel_cpu_ms + m.gateway_cpu_ms + m.loadgen_cpu_ms) / 1000.0);
    const bool headline = load.users == 25;
    section.rows.push_back({name + "requests/s", m.rps, "req/s", "kernel-bound ceiling", ceiling,
                            headline ? "ratio >= 0.80" : "",
                            headline ? std::optional<bool>(m.rps / ceiling >= 0.8) : std::nullopt,
                            "the cores: kernels, gateway and load generator share them"});
    section.rows.push_back({name + "requests/s", m.rps, "req/s",
                            "machine ceiling (kernel+gateway+loadgen CPU)", machine, "",
                            std::nullopt, ""});
    if (load.users == 1) unloaded_p50 = m.latency.p50;
    section.rows.push_back({name + "p50 latency", m.latency.p50, "ms", "1-user p50", unloaded_p50,
                            "", std::nullopt, ""});
    section.rows.push_back({name + "p95 latency", m.latency.p95, "ms", "1-user p50", unloaded_p50,
                            headline ? "< 50 ms" : "",
                            headline ? std::optional<bool>(m.latency.p95 < 50) : std::nullopt,
                            load.users > config.cores
                                ? "queueing for the cores: users > cores, each waits its turn"
                                : ""});
    section.rows.push_back({name + "p99 latency", m.latency.p99, "ms", "1-user p50", unloaded_p50,
                            "", std::nullopt, ""});
    // Little's law for a closed loop: every user always has one request open, so the mean
    // latency is at least users / the best possible throughput.
    section.rows.push_back(
        {name + "mean latency", m.latency.mean, "ms", "Little's-law floor: users / machine ceiling",
         1000.0 * load.users / machine, "", std::nullopt,
         "closed loop: users with a request always open, queueing for the cores"});
    section.rows.push_back({name + "kernel CPU per execution", m.kernel_cpu_ms, "ms",
                            "gateway CPU per request", m.gateway_cpu_ms, "", std::nullopt,
                            "loadgen CPU per request: " + Format(m.loadgen_cpu_ms) + " ms"});
    if (headline) {
      section.rows.push_back({name + "requests/s vs the original", m.rps, "req/s",
                              "original FastAPI+Docker, 10-core desktop (reported, not re-run)", 33,
                              "", std::nullopt, "different machine: 2 cores here vs 10"});
      section.rows.push_back({name + "p95 vs the original", m.latency.p95, "ms",
                              "original FastAPI+Docker (reported, not re-run)", 500, "",
                              std::nullopt, ""});
    }
    if (m.failed > 0)
      section.notes.push_back(name + std::to_string(m.failed) + " requests failed or were wrong");
    section.data[std::to_string(load.users) + "x" + std::to_string(load.requests)] = {
        {"users", load.users},
        {"requests_per_user", load.requests},
        {"ok", m.ok},
        {"failed", m.failed},
        {"wall_s", m.wall_s},
        {"requests_per_s", m.rps},
        {"latency_ms", ToJson(m.latency)},
        {"kernel_cpu_ms_per_exec", m.kernel_cpu_ms},
        {"gateway_cpu_ms_per_req", m.gateway_cpu_ms},
        {"loadgen_cpu_ms_per_req", m.loadgen_cpu_ms},
        {"kernel_bound_ceiling_rps", ceiling},
        {"machine_ceiling_rps", machine}};
  }
  return section;
}

}  // namespace bench
