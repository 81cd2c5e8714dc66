// Capacity: 1,000 HTTP requests open at once against a pool of W workers, each request on its
// own connection running `time.sleep(5)`.
//   Burst of new users: 1,000 distinct users at once. W get a worker; the rest are refused.
//   Queued: W users (those that got a worker) x 1000/W requests each, with --queue-limit large
//   enough that every request is accepted and waits in its user's queue; the clients hang up
//   after the hold time (or wait for every answer with --capacity-hold 0).
// The gateway's RSS, threads and fds are sampled every 100 ms throughout.
#include <algorithm>
#include <map>
#include <thread>

#include "gateway.h"
#include "proc_stats.h"
#include "scenarios.h"

namespace bench {
namespace {

constexpr int kRequests = kCapacityRequests;
const char* const kSleep = "import time\ntime.sleep(5)";

// The largest number of requests sent and not yet answered at any moment (unanswered ones
// count until `end_ms`).
int MaxOpen(const LoadResult& result, double end_ms) {
  std::vector<std::pair<double, int>> events;
  for (const auto& exchanges : result.clients) {
    for (const Exchange& e : exchanges) {
      events.push_back({e.sent_ms, +1});
      events.push_back({e.status != 0 ? e.done_ms : end_ms, -1});
    }
  }
  std::sort(events.begin(), events.end());  // at equal times an answer (-1) comes first
  int open = 0, most = 0;
  for (const auto& [t, delta] : events) most = std::max(most, open += delta);
  return most;
}

double LastSent(const LoadResult& result) {
  double last = 0;
  for (const auto& exchanges : result.clients)
    for (const Exchange& e : exchanges) last = std::max(last, e.sent_ms);
  return last;
}

std::map<int, std::vector<double>> ByStatus(const LoadResult& result) {
  std::map<int, std::vector<double>> by;
  for (const auto& exchanges : result.clients)
    for (const Exchange& e : exchanges) by[e.status].push_back(e.status ? e.LatencyMs() : 0);
  return by;
}

std::string Counts(const std::map<int, std::vector<double>>& by) {
  std::string text;
  for (const auto& [status, latencies] : by) {
    if (!text.empty()) text += ", ";
    text += std::to_string(latencies.size()) + " x " +
            (status == 0 ? std::string("no answer (client hung up)") : std::to_string(status));
    if (status != 0) text += " (p50 " + Format(Summary(latencies).p50) + " ms)";
  }
  return text;
}

struct Peak {
  double rss_mb = 0;
  int threads = 0, fds = 0;
};

Peak PeakOf(const std::vector<Sampler::Sample>& samples) {
  Peak p;
  for (const auto& s : samples) {
    p.rss_mb = std::max(p.rss_mb, s.rss_mb);
    p.threads = std::max(p.threads, s.threads);
    p.fds = std::max(p.fds, s.fds);
  }
  return p;
}

}  // namespace

Section RunCapacity(const RunConfig& config) {
  Section section;
  section.id = "capacity";
  section.title = "Capacity: 1,000 concurrent open executions";
  const std::string backend = config.backends.front();
  const int workers = PoolWorkers(config);
  const double hold_s = config.capacity_hold_s;
  section.setup =
      "The throughput scenario's gateway (`serve --sandbox=" + backend + " --min-idle " +
      std::to_string(workers) + " --max-workers " + std::to_string(workers) + " --queue-limit " +
      std::to_string(PoolQueueLimit(config)) +
      " --max-connections 2048 --max-connections-per-ip 0`); after it every worker is taken by a "
      "user session. Every "
      "request is `time.sleep(5)` on a connection of its own. Burst: 1,000 distinct new users "
      "at once. Queued: 1,000 requests spread over the users that hold a worker (one runs per "
      "user, the rest wait in the user's queue, at most " +
      std::to_string((kRequests + workers - 1) / workers - 1) + " each); " +
      (hold_s > 0 ? "the clients hang up after " + Format(hold_s) + " s."
                  : "every answer is waited for.") +
      " Gateway RSS/threads/fds sampled every 100 ms; baseline = the same gateway just before, "
      "idle.";

  Gateway* pool = SharedPool(config);
  if (pool == nullptr) {
    section.notes.push_back("the pool did not become warm");
    return section;
  }
  Gateway& gateway = *pool;
  const pid_t pid = gateway.pid();
  const Peak idle{RssMb(pid), Threads(pid), OpenFds(pid)};
  const auto status_before = gateway.Status();
  Sampler sampler(pid, std::chrono::milliseconds(100));

  // Burst of new users: those that get a worker keep it for the queued run.
  Progress("capacity: burst of %d new users", kRequests);
  std::vector<Script> burst(kRequests);
  for (int i = 0; i < kRequests; ++i)
    burst[i].steps.push_back({ExecuteBody("cap-" + std::to_string(i), kSleep), ""});
  const LoadResult burst_result = RunLoad(gateway.target(), burst, {});
  const auto burst_by = ByStatus(burst_result);
  std::vector<std::string>& seated = SharedPoolSessions();
  for (int i = 0; i < kRequests; ++i) {
    if (!burst_result.clients[i].empty() && burst_result.clients[i][0].status == 200)
      seated.push_back("cap-" + std::to_string(i));
  }

  Progress("capacity: %d requests queued over %zu users", kRequests, seated.size());
  std::vector<Script> queued(seated.empty() ? 0 : kRequests);
  for (int i = 0; i < static_cast<int>(queued.size()); ++i)
    queued[i].steps.push_back({ExecuteBody(seated[i % seated.size()], kSleep), ""});
  LoadOptions hold;
  hold.hang_up_after = std::chrono::milliseconds(static_cast<long long>(hold_s * 1000));
  const LoadResult queued_result = RunLoad(gateway.target(), queued, hold);
  const auto during = sampler.Samples();
  // Past --interrupt-grace (3 s): every abandoned execution has ended one way or the other.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  const Peak after{RssMb(pid), Threads(pid), OpenFds(pid)};
  const auto status_after = gateway.Status();
  sampler.Stop();

  const Peak peak = PeakOf(during);
  const int max_open = MaxOpen(queued_result, queued_result.wall_ms);
  const auto queued_by = ByStatus(queued_result);
  const std::string gw = "gateway idle, " + std::to_string(workers) + " workers";
  section.rows.push_back({"open requests at once (client side, queued run)",
                          static_cast<double>(max_open), "", "requests sent",
                          static_cast<double>(kRequests), "1000", max_open == kRequests,
                          "the load generator: the last request was written " +
                              Format(LastSent(queued_result)) + " ms after the first"});
  section.rows.push_back({"gateway RSS peak (burst + queued)", peak.rss_mb, "MB", gw, idle.rss_mb,
                          "< 150 MB", peak.rss_mb < 150,
                          "per-connection Beast buffers and per-request state"});
  section.rows.push_back({"gateway RSS 4 s after the clients left", after.rss_mb, "MB", gw,
                          idle.rss_mb, "", std::nullopt, "malloc keeps freed memory"});
  section.rows.push_back({"gateway threads peak", static_cast<double>(peak.threads), "", gw,
                          static_cast<double>(idle.threads), "", std::nullopt,
                          "fixed: io, hub, 2 blocking, ZeroMQ I/O"});
  section.rows.push_back({"gateway fds peak", static_cast<double>(peak.fds), "", gw,
                          static_cast<double>(idle.fds), "", std::nullopt,
                          "one per connection + ZeroMQ sockets per worker"});
  section.rows.push_back({"gateway fds after the clients left", static_cast<double>(after.fds), "",
                          gw, static_cast<double>(idle.fds), "", std::nullopt, ""});
  section.notes.push_back("Burst of 1,000 new users: " + Counts(burst_by) + ".");
  section.notes.push_back("Queued (1,000 requests over " + std::to_string(seated.size()) +
                          " users): " + Counts(queued_by) + "; run took " +
                          Format(queued_result.wall_ms / 1000) + " s.");
  if (status_after.is_object() && status_before.is_object()) {
    const int before = status_before.value("total_workers", -1);
    const int now = status_after.value("total_workers", -1);
    section.notes.push_back(
        "4 s after the clients hung up, /status said: executing_workers " +
        std::to_string(status_after.value("executing_workers", -1)) + ", sessions " +
        std::to_string(status_after.value("sessions", -1)) + ", total_workers " +
        std::to_string(now) + " (" + std::to_string(before) +
        " before): the gateway drops abandoned queued requests and interrupts abandoned "
        "running ones; " +
        std::to_string(before - now) +
        " kernels did not finish their interrupt within --interrupt-grace and were replaced "
        "(their sessions' state is lost).");
  }
  nlohmann::json series = nlohmann::json::array();
  for (const auto& s : during) series.push_back({s.t_ms, s.rss_mb, s.threads, s.fds});
  section.data = {
      {"workers", workers},
      {"users_with_a_worker", seated.size()},
      {"hold_s", hold_s},
      {"idle", {{"rss_mb", idle.rss_mb}, {"threads", idle.threads}, {"fds", idle.fds}}},
      {"peak", {{"rss_mb", peak.rss_mb}, {"threads", peak.threads}, {"fds", peak.fds}}},
      {"after", {{"rss_mb", after.rss_mb}, {"threads", after.threads}, {"fds", after.fds}}},
      {"max_open", max_open},
      {"burst", Counts(burst_by)},
      {"queued", Counts(queued_by)},
      {"status_before", status_before},
      {"status_after", status_after},
      {"samples_t_rss_threads_fds", series}};
  return section;
}

}  // namespace bench
