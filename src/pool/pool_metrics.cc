#include "pool/pool_metrics.h"

#include <chrono>
#include <string>
#include <utility>

#include "common/metrics.h"

namespace pool {

namespace metrics = common::metrics;

namespace {

metrics::Counter& ExecutionCounter(std::string_view outcome) {
  return metrics::Default().GetCounter("code_interpreter_executions_total",
                                       "Executions by how they ended.",
                                       {{"outcome", std::string(outcome)}});
}

metrics::Counter& InterruptCounter(std::string_view reason) {
  return metrics::Default().GetCounter("code_interpreter_interrupts_total",
                                       "Interrupts sent to kernels, by reason.",
                                       {{"reason", std::string(reason)}});
}

}  // namespace

std::string_view OutcomeLabel(const ExecuteOutcome& outcome) {
  switch (outcome.outcome) {
    case Outcome::kCompleted:
      return outcome.result.status == "ok" ? "ok" : "error";
    case Outcome::kTimedOut:
      return "timed_out";
    case Outcome::kKernelDied:
      return "kernel_died";
    case Outcome::kNoCapacity:
      return "no_capacity";
    case Outcome::kQueueFull:
      return "queue_full";
    case Outcome::kReleased:
      return "released";
    case Outcome::kShuttingDown:
      return "shutting_down";
    case Outcome::kAbandoned:
      return "abandoned";
    case Outcome::kInvalid:
      return "invalid";
    case Outcome::kConflict:
      return "conflict";
    case Outcome::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

std::function<void(ExecuteOutcome)> Counted(std::function<void(ExecuteOutcome)> done) {
  return [done = std::move(done), asked = std::chrono::steady_clock::now()](ExecuteOutcome out) {
    static metrics::Histogram& run_seconds = metrics::Default().GetHistogram(
        "code_interpreter_execution_duration_seconds", "Time executions ran in their kernel.",
        metrics::LatencyBuckets());
    static metrics::Histogram& wait_seconds = metrics::Default().GetHistogram(
        "code_interpreter_queue_wait_seconds",
        "Time executions waited for their session's kernel (queue, worker start).",
        metrics::LatencyBuckets());
    ExecutionCounter(OutcomeLabel(out)).Add();
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    const double ran = std::chrono::duration<double>(out.duration).count();
    if (out.duration.count() > 0) run_seconds.Observe(ran);
    wait_seconds.Observe(total > ran ? total - ran : 0);
    done(std::move(out));
  };
}

void CountInterrupt(Interruption why) {
  switch (why) {
    case Interruption::kDeadline:
      return InterruptCounter("deadline").Add();
    case Interruption::kRequested:
      return InterruptCounter("requested").Add();
    case Interruption::kHangup:
      return InterruptCounter("hangup").Add();
    case Interruption::kNone:
      return;
  }
}

void RegisterPoolMetrics() {
  for (const char* reason : {"deadline", "requested", "hangup"}) InterruptCounter(reason);
  for (const char* outcome : {"ok", "error", "timed_out", "interrupted", "kernel_died"})
    ExecutionCounter(outcome);
}

}  // namespace pool
