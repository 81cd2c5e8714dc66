// The worker directory across a sandbox's life, the same for every isolating backend. The
// kernel sees it at kKernelDir and creates its ipc sockets there; the gateway connects to
// them from the host side.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "sandbox/launcher.h"
#include "sandbox/limits.h"

namespace sandbox {

// Before launch: writes the kernel's own view of the connection (socket paths under
// kKernelDir) into the directory and hands the directory to `uid`, so that the kernel can
// create its sockets. Returns the connection file's path as the kernel sees it.
common::Result<std::string> PrepareWorkerDir(const WorkerSpec& spec, uid_t uid);

// Once the kernel is ready: takes the directory back (the gateway's user, 0711), so the
// kernel can no longer add, replace or list anything in it (only open what it knows the name
// of: its own connection file, the limits below). False, logged, when it could not: the caller
// must kill the worker, whose sockets could otherwise be swapped under the gateway.
bool SealWorkerDir(const std::string& dir);

// The soft limits the kernel sets on itself when its session's first cell runs (the
// session-entering cell of jupyter/kernel_setup.cc reads the file): the ones of a session
// whose limits differ from the server's defaults. Only soft limits: the kernel's hard ones,
// the server's caps, stay. Call once the directory is sealed.
inline constexpr const char* kKernelLimitsFile = "limits.json";
struct KernelLimits {
  std::uint64_t data_bytes = 0;  // RLIMIT_DATA; 0: leave it
  std::uint64_t nproc = 0;       // RLIMIT_NPROC
};
common::Result<void> WriteKernelLimits(const std::string& dir, const KernelLimits& limits);
// The soft limits for a session's `limits`; `data_limited`: the kernel runs with a data limit
// at all (the server configured one), which then follows the memory limit.
inline KernelLimits KernelLimitsFor(const ResourceLimits& limits, bool data_limited) {
  return {.data_bytes = data_limited ? DataLimitFor(limits.memory_bytes) : 0, .nproc = limits.pids};
}

}  // namespace sandbox
