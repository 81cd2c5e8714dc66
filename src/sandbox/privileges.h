// Dropping everything the kernel process does not need, in the order that keeps it
// possible: rlimits, the capability bounding set, supplementary groups, gid, uid (which
// clears the remaining capabilities), no-new-privileges. Runs in the kernel's process
// inside the sandbox, after the filesystem is built and before seccomp.
#pragma once

#include "common/result.h"
#include "sandbox/limits.h"

namespace sandbox {

common::Result<void> ApplyRlimits(const Limits& limits);
common::Result<void> DropPrivileges(unsigned uid, unsigned gid);

}  // namespace sandbox
