// Events: how soon a `print` in the kernel reaches a client that streams the execution
// (POST /execute with Accept: application/x-ndjson). The cell prints time.time() (the host's
// wall clock: no backend virtualizes it) 40 times, 20 ms apart; the client notes its own wall
// clock when each stdout event arrives. Next to it, in the same run: `1+1` as a plain answer and
// as a stream (to its "done" event), so the stream's own cost shows as a difference.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "gateway.h"
#include "scenarios.h"
#include "stats.h"
#include "support/event_stream.h"

namespace bench {
namespace {

using testing_support::EventStream;

constexpr int kPrints = 40;
const std::string kCode = "import time\nfor _ in range(" + std::to_string(kPrints) +
                          "):\n    print(repr(time.time()), flush=True)\n    time.sleep(0.02)";

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

EventStream Stream(const Target& target, const std::string& user, const std::string& code) {
  return EventStream(target.port, "POST", "/execute", ExecuteBody(user, code),
                     {{"X-Auth-Token", target.token}, {"Accept", "application/x-ndjson"}});
}

}  // namespace

Section RunEvents(const RunConfig& config) {
  Section section;
  section.id = "events";
  section.title = "Events: a print in the kernel to a streaming client";
  const int rounds = config.Count(10, 3);
  const int plain_rounds = config.Count(200, 40);
  section.setup =
      "Per backend, one session streams a cell that prints `time.time()` " +
      std::to_string(kPrints) + " times, 20 ms apart (" + std::to_string(rounds) +
      " cells); each stdout event's latency is the client's wall clock at its arrival minus the "
      "printed time (kernel and client share the host's clock). Baseline: the plain `1+1` "
      "round trip through the same gateway (" +
      std::to_string(plain_rounds) +
      " requests); `1+1` streamed to its done event shows what the stream itself adds.";
  for (const std::string& backend : config.backends) {
    Progress("events/%s: %d cells", backend.c_str(), rounds);
    Gateway gateway(backend, {"--min-idle", "1", "--max-workers", "2"});
    if (!gateway.ok() || !gateway.WaitIdle(1, 120)) {
      section.notes.push_back(backend + ": the gateway did not start");
      continue;
    }
    const std::string user = "events";
    SyncClient client(gateway.target());
    client.Post("/execute", ExecuteBody(user, "1"));
    std::vector<double> latency_ms, plain_ms, streamed_ms;
    int failures = 0;
    for (int i = 0; i < rounds; ++i) {
      EventStream stream = Stream(gateway.target(), user, kCode);
      failures += stream.status() != 200;
      while (auto event = stream.Next(30)) {
        const double now = WallSeconds();
        if (event->json.value("event", "") != "stdout") continue;
        // One event may carry several lines (prints that came together): the first is the
        // oldest, so it gives the latency of the event.
        const std::string text = event->json["data"].value("text", "");
        try {
          latency_ms.push_back((now - std::stod(text)) * 1000);
        } catch (const std::exception&) {
          ++failures;
        }
      }
    }
    for (int i = 0; i < plain_rounds; ++i) {
      const Reply reply = client.Post("/execute", ExecuteBody(user, "1+1"));
      failures += reply.status != 200;
      plain_ms.push_back(reply.ms);
      const auto start = Clock::now();
      EventStream stream = Stream(gateway.target(), user, "1+1");
      bool done = false;
      while (auto event = stream.Next(30)) done |= event->json.value("event", "") == "done";
      failures += !done;
      streamed_ms.push_back(MsSince(start));
    }
    const Percentiles latency = Summary(latency_ms), plain = Summary(plain_ms),
                      streamed = Summary(streamed_ms);
    section.rows.push_back({"print to client p50, " + backend, latency.p50, "ms",
                            "plain `1+1` round trip p50", plain.p50, "< 2 ms", latency.p50 < 2.0,
                            "the kernel's stdout flush (1 ms), iopub, the hub thread, one "
                            "HTTP chunk"});
    section.rows.push_back({"print to client p99, " + backend, latency.p99, "ms",
                            "plain `1+1` round trip p99", plain.p99, "", std::nullopt, ""});
    section.rows.push_back({"`1+1` streamed to done p50, " + backend, streamed.p50, "ms",
                            "plain `1+1` p50", plain.p50, "", std::nullopt,
                            "a new connection per stream (the plain client keeps its own)"});
    if (failures > 0)
      section.notes.push_back(backend + ": " + std::to_string(failures) +
                              " failed requests or unreadable events");
    section.data[backend] = {{"print_to_client_ms", ToJson(latency)},
                             {"plain_1plus1_ms", ToJson(plain)},
                             {"streamed_1plus1_ms", ToJson(streamed)},
                             {"failures", failures}};
  }
  return section;
}

}  // namespace bench
