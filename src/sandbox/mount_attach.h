// Attaching a host mount inside a running sandbox: how a session's workspace becomes the
// /sandbox of the warm sandbox its session is handed (namespaces and docker backends).
//
// A detached copy of the mount at `source` (open_tree with OPEN_TREE_CLONE, in the gateway's
// mount namespace) is moved onto `target` in the mount namespace of the process `pidfd`
// refers to (the sandbox's init) by a short-lived child that enters that namespace
// (setns needs a single-threaded caller; the gateway has threads). The target is opened with
// O_NOFOLLOW | O_DIRECTORY in the sandbox's namespace: a link planted there is refused, not
// followed. The mount keeps its flags (the workspace's tmpfs is nosuid,nodev) and, the
// sandbox's mounts being private, propagates nowhere. Needs CAP_SYS_ADMIN over the sandbox's
// mount namespace: root. Blocks (fork, wait); thread-safe.
#pragma once

#include <string>

#include "common/result.h"

namespace sandbox {

common::Result<void> AttachMountInto(int pidfd, const std::string& source,
                                     const std::string& target);

}  // namespace sandbox
