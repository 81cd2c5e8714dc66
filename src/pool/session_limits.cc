#include "pool/session_limits.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace pool {
namespace {

using std::chrono::milliseconds;

std::string Number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

std::string Secs(milliseconds ms) { return Number(static_cast<double>(ms.count()) / 1000.0); }

// "Field 'limits.memory_mb' must be at most 4096 (the server's cap, --max-memory-mb)".
common::Error Bound(const char* field, const char* relation, const std::string& value,
                    const std::string& why) {
  return common::Error{std::string("Field 'limits.") + field + "' must be " + relation + " " +
                       value + " (" + why + ")"};
}

}  // namespace

common::Result<SessionLimits> ResolveLimits(const RequestedLimits& requested,
                                            const SessionLimits& defaults,
                                            const SessionLimits& caps) {
  SessionLimits limits = defaults;
  const auto whole = [&](const char* field, const std::optional<std::uint64_t>& asked,
                         std::uint64_t minimum, std::uint64_t cap, const char* flag,
                         std::uint64_t& out) -> common::Result<void> {
    if (!asked) return {};
    if (*asked < minimum)
      return std::unexpected(Bound(field, "at least", std::to_string(minimum), "the smallest"));
    if (*asked > cap) {
      return std::unexpected(
          Bound(field, "at most", std::to_string(cap), std::string("the server's cap, ") + flag));
    }
    out = *asked;
    return {};
  };
  if (auto r = whole("memory_mb", requested.memory_mb, kMinMemoryMb, caps.memory_mb,
                     "--max-memory-mb", limits.memory_mb);
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r = whole("pids", requested.pids, kMinPids, caps.pids, "--max-pids", limits.pids); !r)
    return std::unexpected(r.error());
  if (auto r = whole("workspace_mb", requested.workspace_mb, 1, caps.workspace_mb,
                     "--max-workspace-mb", limits.workspace_mb);
      !r) {
    return std::unexpected(r.error());
  }
  if (requested.cpus) {
    if (!(*requested.cpus >= kMinCpus))
      return std::unexpected(Bound("cpus", "at least", Number(kMinCpus), "the smallest"));
    if (*requested.cpus > caps.cpus) {
      return std::unexpected(
          Bound("cpus", "at most", Number(caps.cpus), "the server's cap, --max-cpus"));
    }
    limits.cpus = *requested.cpus;
  }
  if (requested.max_timeout) {
    if (*requested.max_timeout < kMinTimeout)
      return std::unexpected(Bound("max_timeout", "at least", Secs(kMinTimeout), "seconds"));
    if (*requested.max_timeout > caps.max_timeout) {
      return std::unexpected(Bound("max_timeout", "at most", Secs(caps.max_timeout),
                                   "seconds, the server's cap, --max-exec-timeout"));
    }
    limits.max_timeout = *requested.max_timeout;
    limits.timeout = std::min(limits.timeout, limits.max_timeout);
  }
  if (requested.timeout) {
    if (*requested.timeout < kMinTimeout)
      return std::unexpected(Bound("timeout", "at least", Secs(kMinTimeout), "seconds"));
    if (*requested.timeout > limits.max_timeout) {
      return std::unexpected(Bound("timeout", "at most", Secs(limits.max_timeout),
                                   requested.max_timeout
                                       ? "seconds, the session's max_timeout"
                                       : "seconds, the server's cap, --max-exec-timeout"));
    }
    limits.timeout = *requested.timeout;
  }
  return limits;
}

sandbox::ResourceLimits ResourcesOf(const SessionLimits& limits) {
  return {.memory_bytes = limits.memory_mb << 20, .cpus = limits.cpus, .pids = limits.pids};
}

}  // namespace pool
