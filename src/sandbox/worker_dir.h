// The worker directory across a sandbox's life, the same for every isolating backend. The
// kernel sees it at kKernelDir and creates its ipc sockets there; the gateway connects to
// them from the host side.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"
#include "sandbox/launcher.h"

namespace sandbox {

// Before launch: writes the kernel's own view of the connection (socket paths under
// kKernelDir) into the directory and hands the directory to `uid`, so that the kernel can
// create its sockets. Returns the connection file's path as the kernel sees it.
common::Result<std::string> PrepareWorkerDir(const WorkerSpec& spec, uid_t uid);

// Once the kernel is ready: takes the directory back (the gateway's user, 0700), so the
// kernel can no longer add or replace anything in it. False, logged, when it could not: the caller
// must kill the worker, whose sockets could otherwise be swapped under the gateway.
bool SealWorkerDir(const std::string& dir);

}  // namespace sandbox
