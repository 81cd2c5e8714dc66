// The kernel's standing with the host's OOM killer. Without this a kernel inherits the
// gateway's oom_score_adj and, more to the point, its oom_score_adj_min: on a host where
// the service starts with a negative value (systemd's OOMScoreAdjust=), user code could
// lower itself to that minimum (down to -1000, never killed) without any privilege.
//
// Kernel rule (fs/proc/base.c, __set_oom_adj): a write below the process's
// oom_score_adj_min needs CAP_SYS_RESOURCE, and a write by a holder of CAP_SYS_RESOURCE
// also sets the minimum. So the value is written while the process is still root, and the
// capability is dropped afterwards (DropPrivileges clears every capability): from then on
// the process and everything it forks can only raise the score. The docker backend gets
// the same from HostConfig.OomScoreAdj (runc writes it with privileges).
//
// Where the gateway (or the engine) runs without CAP_SYS_RESOURCE (some container and VM
// hosts drop it from root's bounding set), the value is still set, but the floor stays
// the gateway's own: the launchers warn at start (HoldsSysResource).
#pragma once

#include "common/result.h"

namespace sandbox {

inline constexpr int kKernelOomScoreAdj = 1000;  // the first victim, before anything else

// Sets /proc/self/oom_score_adj (and with it the minimum) to kKernelOomScoreAdj. Needs
// CAP_SYS_RESOURCE; call in the kernel's process before dropping privileges.
common::Result<void> MakeFirstOomVictim();

// Whether this process holds CAP_SYS_RESOURCE (effective), i.e. whether the floor can be set.
bool HoldsSysResource();

}  // namespace sandbox
