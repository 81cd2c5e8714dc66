// The sandbox's filesystem: a fresh tmpfs root with read-only binds of /usr (and the
// usr-merge links), a minimal /etc, fresh /proc (sensitive parts read-only or masked), a
// minimal /dev, size-limited /tmp and home, and the worker directory at /run/kernel; then
// pivot_root, detach the old root and make / read-only. Runs in the init process, inside
// the new mount and pid namespaces, before privileges are dropped.
#pragma once

#include "common/result.h"
#include "sandbox/init_spec.h"

namespace sandbox {

common::Result<void> BuildRoot(const InitSpec& spec);

// After the kernel has bound its sockets: makes /run/kernel read-only, so the kernel cannot
// store anything on the host through it or swap its sockets (connecting to a socket on a
// read-only mount still works). Runs in init, after BuildRoot.
common::Result<void> SealKernelDir();

}  // namespace sandbox
