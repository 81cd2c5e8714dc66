// A tmpfs of its own for each worker directory (namespaces backend), mounted by the gateway
// on the host over the directory the pool created, before the sandbox starts.
//
// Why: the sandbox sees the directory through a bind mount, and /proc/self/mountinfo shows
// a bind mount's root as its path inside the source filesystem, i.e. the host path of the
// runtime directory. With a filesystem of its own the root is "/" and the mount's source is
// the neutral "ci-worker-<scope>". It also caps what can be stored there (size, inodes)
// before the directory is sealed.
//
// The docker backend does not use this: the engine resolves bind sources in its own mount
// namespace, which need not see a mount made by the gateway (a gateway in a container).
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace sandbox {

// Mounts the tmpfs over `dir` (an existing directory; what it held is hidden until unmount).
common::Result<void> MountWorkerDir(const std::string& dir, const std::string& scope);
// Lazily unmounts it; harmless when nothing is mounted there.
void UnmountWorkerDir(const std::string& dir);
// Unmounts every worker tmpfs of `scope` still mounted (left by a crashed run); returns
// their mount points.
std::vector<std::string> SweepWorkerMounts(const std::string& scope);
// Lazily unmounts every tmpfs whose mount source is `source`; returns their mount points.
std::vector<std::string> SweepTmpfsMounts(const std::string& source);

}  // namespace sandbox
