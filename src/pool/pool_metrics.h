// What the session table counts for GET /metrics (common/metrics.h): executions by how they
// ended, how long they ran and waited, and the interrupts it sent. io thread, like the pool.
#pragma once

#include <functional>
#include <string_view>

#include "pool/outcomes.h"
#include "pool/sessions.h"

namespace pool {

// The metrics label of an outcome ("ok", "error", "timed_out", "queue_full", ...).
std::string_view OutcomeLabel(const ExecuteOutcome& outcome);

// `done`, counting the outcome it is given, its run time and its wait (from now until it
// is called, less the run time).
std::function<void(ExecuteOutcome)> Counted(std::function<void(ExecuteOutcome)> done);

// An interrupt sent to a kernel, counted under its reason ("deadline", "requested", "hangup").
void CountInterrupt(Interruption why);

// Registers the counters above at zero for their usual labels, so that a scraper sees them
// before the first event (Pool's constructor calls it).
void RegisterPoolMetrics();

}  // namespace pool
