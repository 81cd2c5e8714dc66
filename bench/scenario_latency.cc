// Exec latency: `1+1` through the gateway next to a direct ZeroMQ client, interleaved in
// blocks of 50 so that both paths see the same machine.
#include <cstdlib>

#include "gateway.h"
#include "hub_kernel.h"
#include "proc_stats.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

constexpr std::size_t kDefaultTextCap = 1u << 20;  // --max-output-text default

void MeasureBackend(const RunConfig& config, const std::string& backend, Section& section) {
  const int iterations = config.Count(1500, 150);
  const int warmup = config.Count(100, 30);
  constexpr int kBlock = 50;
  Progress("latency/%s: %d iterations per path", backend.c_str(), iterations);

  auto launcher = MakeLauncher(backend);
  HubKernel direct(*launcher, kDefaultTextCap + 4096);
  Gateway gateway(backend, {"--min-idle", "0", "--max-workers", "1"});
  if (!gateway.ok()) {
    section.notes.push_back(backend + ": the gateway did not start: " + gateway.Log());
    return;
  }
  SyncClient client(gateway.target());
  const std::string body = ExecuteBody("latency", "1+1");
  const auto via_gateway = [&] {
    const Reply reply = client.Post("/execute", body);
    return reply.status == 200 && reply.body.find("\"result_text\":\"2\"") != std::string::npos;
  };
  const auto via_direct = [&] { return direct.Once(); };

  int failures = 0;
  for (int i = 0; i < warmup; ++i) {
    TimeOnce(via_direct, failures);
    TimeOnce(via_gateway, failures);
  }
  failures = 0;
  std::vector<double> direct_ms, gateway_ms;
  double gateway_cpu_s = 0;
  while (static_cast<int>(direct_ms.size()) < iterations) {
    for (int i = 0; i < kBlock; ++i) direct_ms.push_back(TimeOnce(via_direct, failures));
    const double cpu0 = CpuSeconds(gateway.pid());
    for (int i = 0; i < kBlock; ++i) gateway_ms.push_back(TimeOnce(via_gateway, failures));
    gateway_cpu_s += CpuSeconds(gateway.pid()) - cpu0;
  }
  const double cpu_ms_per_request = 1000 * gateway_cpu_s / static_cast<double>(gateway_ms.size());
  const Percentiles d = Summary(direct_ms);
  const Percentiles g = Summary(gateway_ms);
  const std::string base = "direct ZeroMQ";
  const std::string limit =
      "the kernel (ipykernel + IPython run ~all of it); the gateway adds HTTP parse, JSON, "
      "one thread hop";
  section.rows.push_back({"gateway `1+1` p50, " + backend, g.p50, "ms", base, d.p50,
                          "ratio <= 1.10", g.p50 / d.p50 <= 1.10, limit});
  section.rows.push_back(
      {"gateway `1+1` p95, " + backend, g.p95, "ms", base, d.p95, "", std::nullopt, ""});
  section.rows.push_back(
      {"gateway `1+1` p99, " + backend, g.p99, "ms", base, d.p99, "", std::nullopt, ""});
  section.rows.push_back({"gateway minus direct at p50, " + backend, g.p50 - d.p50, "ms", "", NAN,
                          "", std::nullopt, "what the gateway itself costs per request"});
  section.rows.push_back({"gateway CPU per request (pool of 1 worker), " + backend,
                          cpu_ms_per_request, "ms", "", NAN, "", std::nullopt,
                          "HTTP, JSON, HMAC, ZeroMQ; /proc/<pid>/stat, 10 ms ticks"});
  if (failures > 0)
    section.notes.push_back(backend + ": " + std::to_string(failures) + " requests failed");
  section.data[backend] = {
      {"iterations", iterations}, {"warmup", warmup},
      {"failures", failures},     {"gateway_cpu_ms_per_request", cpu_ms_per_request},
      {"direct_ms", ToJson(d)},   {"gateway_ms", ToJson(g)}};
}

}  // namespace

Section RunLatency(const RunConfig& config) {
  Section section;
  section.id = "latency";
  section.title = "Exec latency: `1+1` through the gateway vs a direct ZeroMQ client";
  section.setup =
      "Per backend, one kernel driven in-process through KernelHub (the gateway's own ZeroMQ "
      "client; same launcher, same stream cap, same execute_request options) and one gateway "
      "(`serve --min-idle 0 --max-workers 1`) driven with `POST /execute` over one keep-alive "
      "connection; sequential, one session each, the two paths alternating in blocks of 50.";
  for (const std::string backend : {"none", "namespaces"}) {
    if (config.Has(backend)) MeasureBackend(config, backend, section);
  }
  return section;
}

}  // namespace bench
