// Session acquisition: the first request of a new user against a warm pool, next to later
// requests of the same user; the first request against an empty pool (cold start); and, to
// tell the gateway's share from the kernel's, the first execution of a fresh kernel driven
// directly next to its later ones.
#include "gateway.h"
#include "hub_kernel.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

constexpr int kLater = 5;  // later requests per user

bool IsTwo(const Reply& reply) {
  return reply.status == 200 && reply.body.find("\"result_text\":\"2\"") != std::string::npos;
}

struct Timings {
  std::vector<double> first, later;
  int failures = 0;
};

// Warm: before each measured request, the pool has an idle worker and nothing is starting.
// With max_workers 1 taking the idle worker starts no refill (the pool is at its maximum);
// with more, the refill's kernel start runs while the first request executes.
Timings Warm(const std::string& backend, int users, int max_workers) {
  Timings t;
  Gateway gateway(backend, {"--min-idle", "1", "--max-workers", std::to_string(max_workers)});
  if (!gateway.ok()) return {{}, {}, users};
  SyncClient client(gateway.target());
  for (int i = 0; i < users; ++i) {
    const std::string user = "warm-" + std::to_string(i);
    if (!gateway.WaitIdle(1, 120) || !gateway.WaitSettled(60)) ++t.failures;
    const Reply first = client.Post("/execute", ExecuteBody(user, "1+1"));
    t.first.push_back(first.ms);
    t.failures += !IsTwo(first);
    // The refill has finished: later requests see a quiet machine.
    if (max_workers > 1) gateway.WaitIdle(1, 120);
    for (int k = 0; k < kLater; ++k) {
      const Reply later = client.Post("/execute", ExecuteBody(user, "1+1"));
      t.later.push_back(later.ms);
      t.failures += !IsTwo(later);
    }
    client.Post("/release", ReleaseBody(user));
  }
  return t;
}

// Cold: --min-idle 0, so the first request starts the worker.
Timings Cold(const std::string& backend, int users) {
  Timings t;
  Gateway gateway(backend, {"--min-idle", "0", "--max-workers", "2"});
  if (!gateway.ok()) return {{}, {}, users};
  SyncClient client(gateway.target());
  for (int i = 0; i < users; ++i) {
    const std::string user = "cold-" + std::to_string(i);
    if (!gateway.WaitSettled(60)) ++t.failures;
    const Reply first = client.Post("/execute", ExecuteBody(user, "1+1"));
    t.first.push_back(first.ms);
    t.failures += !IsTwo(first);
    client.Post("/release", ReleaseBody(user));
  }
  return t;
}

// A fresh kernel's first execution next to its later ones, without the gateway.
Timings Direct(const std::string& backend, int kernels) {
  Timings t;
  auto launcher = MakeLauncher(backend);
  for (int i = 0; i < kernels; ++i) {
    HubKernel kernel(*launcher, (1u << 20) + 4096);
    const auto time = [&] { return TimeOnce([&] { return kernel.Once(); }, t.failures); };
    t.first.push_back(time());
    for (int k = 0; k < kLater; ++k) t.later.push_back(time());
  }
  return t;
}

}  // namespace

Section RunAcquisition(const RunConfig& config) {
  Section section;
  section.id = "acquisition";
  section.title = "Session acquisition: a new user's first request";
  const int warm_users = config.Count(10, 3);
  const int cold_users = config.Count(4, 1);
  section.setup =
      "Warm: `serve --min-idle 1 --max-workers 1`; before each new user's first `1+1` the "
      "pool has an idle worker and nothing starting, and taking it starts nothing (the pool "
      "is at its maximum); then " +
      std::to_string(kLater) + " later `1+1` of the same user, then release; " +
      std::to_string(warm_users) +
      " users. Warm with refill: the same with `--max-workers 3`, where taking the idle "
      "worker starts a replacement at once (the later requests wait until it is ready). Cold: "
      "`--min-idle 0`, so the first request "
      "starts the worker (" +
      std::to_string(cold_users) +
      " users). Direct: fresh kernels "
      "driven through KernelHub, first execution next to later ones, to separate the "
      "kernel's own first-execution cost from the gateway's. Values are p50 in ms.";
  for (const std::string& backend : config.backends) {
    Progress("acquisition/%s: warm, no refill (%d users)", backend.c_str(), warm_users);
    const Timings warm = Warm(backend, warm_users, 1);
    Progress("acquisition/%s: warm, with refill (%d users)", backend.c_str(), warm_users);
    const Timings refill = Warm(backend, warm_users, 3);
    Progress("acquisition/%s: cold (%d users)", backend.c_str(), cold_users);
    const Timings cold = Cold(backend, cold_users);
    const Percentiles first = Summary(warm.first), later = Summary(warm.later);
    const Percentiles refill_first = Summary(refill.first), refill_later = Summary(refill.later);
    const Percentiles cold_first = Summary(cold.first);
    const double added = first.p50 - later.p50;
    section.rows.push_back({"warm pool: first request of a new user, " + backend, first.p50, "ms",
                            "later request, same user", later.p50, "", std::nullopt, ""});
    section.rows.push_back({"warm pool, refill starting meanwhile: first request, " + backend,
                            refill_first.p50, "ms", "later request, same user", refill_later.p50,
                            "", std::nullopt,
                            "the replacement kernel's start competes for the cores"});
    Progress("acquisition/%s: direct (%d fresh kernels)", backend.c_str(), warm_users);
    const Timings direct = Direct(backend, warm_users);
    const double fresh = Summary(direct.first).p50 - Summary(direct.later).p50;
    section.rows.push_back(
        {"warm acquisition adds (first - later), " + backend, added, "ms",
         "a fresh kernel's own first-execution cost (direct)", fresh, "gateway share < 1 ms",
         added - fresh < 1.0,
         "gateway share = added - kernel's own = " + Format(added - fresh) + " ms"});
    section.rows.push_back({"cold pool: first request (kernel start), " + backend, cold_first.p50,
                            "ms", "warm pool first request", first.p50, "", std::nullopt,
                            "the sandbox and Python start-up: what --min-idle hides"});
    const int failures = warm.failures + refill.failures + cold.failures + direct.failures;
    if (failures > 0)
      section.notes.push_back(backend + ": " + std::to_string(failures) + " requests failed");
    section.data[backend] = {{"warm_first_ms", ToJson(first)},
                             {"warm_later_ms", ToJson(later)},
                             {"refill_first_ms", ToJson(refill_first)},
                             {"refill_later_ms", ToJson(refill_later)},
                             {"cold_first_ms", ToJson(cold_first)},
                             {"direct_first_ms", ToJson(Summary(direct.first))},
                             {"direct_later_ms", ToJson(Summary(direct.later))},
                             {"failures", failures}};
  }
  return section;
}

}  // namespace bench
