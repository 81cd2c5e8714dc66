#include "pool/outcomes.h"

#include <cstdio>
#include <utility>

namespace pool {

std::string Seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

ExecuteOutcome Refusal(Outcome outcome, std::string detail, int retry_after) {
  ExecuteOutcome out;
  out.outcome = outcome;
  out.detail = std::move(detail);
  out.retry_after_seconds = retry_after;
  return out;
}

ExecuteOutcome FinishedOutcome(std::chrono::milliseconds timeout, Interruption interruption,
                               bool killed, const std::string& died) {
  ExecuteOutcome out;
  out.timeout = timeout;
  const bool requested = interruption == Interruption::kRequested;
  if (killed) {
    out.outcome = requested ? Outcome::kInterrupted : Outcome::kTimedOut;
    out.state_preserved = false;
    out.detail = (requested ? std::string("Execution was interrupted on request")
                            : "Execution exceeded the " + Seconds(timeout) + " s timeout") +
                 " and the kernel did not stop when interrupted; it was replaced and the "
                 "session's state was lost.";
  } else if (!died.empty()) {
    out.outcome = Outcome::kKernelDied;
    out.state_preserved = false;
    out.detail = "The kernel " + died +
                 " during execution; the session's state was lost. The next request runs in a "
                 "fresh kernel.";
  } else if (requested) {
    out.outcome = Outcome::kInterrupted;
    out.detail = "Execution was interrupted on request; the session's state was kept.";
  } else if (interruption == Interruption::kDeadline) {
    out.outcome = Outcome::kTimedOut;
    out.detail = "Execution exceeded the " + Seconds(timeout) +
                 " s timeout and was interrupted; the session's state was kept.";
  }
  return out;
}

}  // namespace pool
