// A session's limits: what it asks for (POST /sessions, or the first /execute, `limits`),
// checked against the server's caps and completed with the server's defaults. The memory,
// CPU and process limits go to the session's worker (Sandbox::AdjustLimits, when they differ
// from what warm workers start with), the workspace size to its workspace, the timeouts to its
// executions. Pure values; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/result.h"
#include "sandbox/limits.h"

namespace pool {

struct SessionLimits {
  std::uint64_t memory_mb = 1024;
  double cpus = 1.0;
  std::uint64_t pids = 256;
  std::uint64_t workspace_mb = 1024;
  std::chrono::milliseconds timeout{30 * 1000};       // per execution, when it names none
  std::chrono::milliseconds max_timeout{300 * 1000};  // the most an execution may name
  bool operator==(const SessionLimits&) const = default;
};

// What a request names; the rest comes from the defaults.
struct RequestedLimits {
  std::optional<std::uint64_t> memory_mb{};
  std::optional<double> cpus{};
  std::optional<std::uint64_t> pids{};
  std::optional<std::uint64_t> workspace_mb{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<std::chrono::milliseconds> max_timeout{};
  bool Empty() const {
    return !memory_mb && !cpus && !pids && !workspace_mb && !timeout && !max_timeout;
  }
};

// The smallest values a session may ask for: below them a kernel cannot even start (an idle
// kernel holds ~75 MiB and a dozen threads) or a quota means nothing.
inline constexpr std::uint64_t kMinMemoryMb = 128;
inline constexpr double kMinCpus = 0.01;
inline constexpr std::uint64_t kMinPids = 32;
inline constexpr std::chrono::milliseconds kMinTimeout{100};

// `requested` over `defaults`, or an error for the client naming the field and the bound it
// breaks (a cap names the serve flag that sets it). A timeout above the session's own
// max_timeout is refused too; a max_timeout below the default timeout lowers the default.
common::Result<SessionLimits> ResolveLimits(const RequestedLimits& requested,
                                            const SessionLimits& defaults,
                                            const SessionLimits& caps);

sandbox::ResourceLimits ResourcesOf(const SessionLimits& limits);

}  // namespace pool
