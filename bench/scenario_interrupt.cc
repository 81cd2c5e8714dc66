// Interrupt: `time.sleep(10)` with timeout 1 s. Measures the time from the deadline to the
// timeout response, and checks that the kernel was interrupted rather than replaced: the
// response says state_preserved, and a variable set before the timeout survives.
#include <nlohmann/json.hpp>

#include "gateway.h"
#include "scenarios.h"

namespace bench {

Section RunInterrupt(const RunConfig& config) {
  Section section;
  section.id = "interrupt";
  section.title = "Interrupt: a timed-out execution";
  const int rounds = config.Count(5, 2);
  constexpr double kTimeoutS = 1.0;
  section.setup =
      "Per backend, one session sets `y = 42`, then " + std::to_string(rounds) +
      " times runs `time.sleep(10)` with `\"timeout\": 1` and afterwards reads `y`. Deadline "
      "to response = client-side round trip - 1000 ms (the deadline counts from when the code "
      "is sent to the kernel, so this slightly overstates it). Baseline: `--interrupt-grace` "
      "(3 s), after which the gateway gives up on the interrupt and replaces the kernel.";
  for (const std::string& backend : config.backends) {
    Progress("interrupt/%s: %d rounds", backend.c_str(), rounds);
    Gateway gateway(backend, {"--min-idle", "1", "--max-workers", "2"});
    if (!gateway.ok()) {
      section.notes.push_back(backend + ": the gateway did not start");
      continue;
    }
    SyncClient client(gateway.target());
    const std::string user = "interrupt";
    client.Post("/execute", ExecuteBody(user, "import time\ny = 42"));
    std::vector<double> after_deadline;
    int preserved = 0, interrupted = 0;
    for (int i = 0; i < rounds; ++i) {
      const Reply reply = client.Post("/execute", ExecuteBody(user, "time.sleep(10)", kTimeoutS));
      after_deadline.push_back(reply.ms - kTimeoutS * 1000);
      const auto body = nlohmann::json::parse(reply.body, nullptr, false);
      const bool timed_out = body.is_object() && body.value("timed_out", false);
      const bool kept = body.is_object() && body.value("state_preserved", false);
      interrupted += reply.status == 400 && timed_out &&
                     reply.body.find("KeyboardInterrupt") != std::string::npos;
      const Reply check = client.Post("/execute", ExecuteBody(user, "y"));
      preserved += kept && check.status == 200 &&
                   check.body.find("\"result_text\":\"42\"") != std::string::npos;
    }
    const Percentiles p = Summary(after_deadline);
    section.rows.push_back({"deadline to timeout response p50, " + backend, p.p50, "ms",
                            "--interrupt-grace", 3000, "", std::nullopt,
                            "the kernel: interrupt_request on control, ipykernel signals "
                            "itself (SIGINT), KeyboardInterrupt, then status idle"});
    section.rows.push_back({"deadline to timeout response max, " + backend, p.max, "ms",
                            "--interrupt-grace", 3000, "", std::nullopt, ""});
    section.rows.push_back({"rounds with state kept (y == 42 after), " + backend,
                            static_cast<double>(preserved), "", "rounds",
                            static_cast<double>(rounds), "all", preserved == rounds, ""});
    section.rows.push_back({"rounds ended by KeyboardInterrupt, " + backend,
                            static_cast<double>(interrupted), "", "rounds",
                            static_cast<double>(rounds), "all", interrupted == rounds, ""});
    section.data[backend] = {{"rounds", rounds},
                             {"after_deadline_ms", ToJson(p)},
                             {"state_preserved", preserved},
                             {"keyboard_interrupt", interrupted}};
  }
  return section;
}

}  // namespace bench
