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

#include <sys/types.h>

#include "common/result.h"

namespace sandbox {

inline constexpr int kKernelOomScoreAdj = 1000;  // the first victim, before anything else

// Sets /proc/<pid>/oom_score_adj (and, written with CAP_SYS_RESOURCE, the minimum) to
// kKernelOomScoreAdj. The namespaces launcher calls it for the sandbox's init before init
// runs (init's capabilities are its user namespace's only, never CAP_SYS_RESOURCE on the
// host); init's kernel process calls it for itself again (raising needs no capability).
common::Result<void> MakeFirstOomVictim(pid_t pid = 0);  // 0: this process

// Whether this process holds CAP_SYS_RESOURCE (effective), i.e. whether the floor can be set.
bool HoldsSysResource();

}  // namespace sandbox
