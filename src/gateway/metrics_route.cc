#include "gateway/metrics_route.h"

#include <vector>

#include "common/metrics.h"

namespace gateway {

namespace metrics = common::metrics;

std::string MetricsBody(const pool::PoolStatus& status) {
  metrics::ComputedGauge workers{"code_interpreter_workers",
                                 "Workers by environment and state (executing ones are busy).",
                                 {}};
  metrics::ComputedGauge sessions{"code_interpreter_sessions", "Sessions by environment.", {}};
  metrics::ComputedGauge warm{
      "code_interpreter_min_idle_workers", "Warm workers each environment keeps (--min-idle).", {}};
  for (const pool::EnvironmentStatus& e : status.environments) {
    for (const auto& [state, n] :
         {std::pair{"idle", e.idle_workers}, std::pair{"busy", e.busy_workers},
          std::pair{"starting", e.starting_workers}}) {
      workers.samples.push_back(
          {{{"environment", e.name}, {"state", state}}, static_cast<double>(n)});
    }
    sessions.samples.push_back({{{"environment", e.name}}, static_cast<double>(e.sessions)});
    warm.samples.push_back({{{"environment", e.name}}, static_cast<double>(e.min_idle)});
  }
  const metrics::ComputedGauge executing{"code_interpreter_executing_workers",
                                         "Workers running code right now.",
                                         {{{}, static_cast<double>(status.executing_workers)}}};
  const metrics::ComputedGauge max{"code_interpreter_max_workers",
                                   "The most workers the server runs (--max-workers).",
                                   {{{}, static_cast<double>(status.max_workers)}}};
  return metrics::Default().Render({workers, executing, sessions, warm, max});
}

}  // namespace gateway
