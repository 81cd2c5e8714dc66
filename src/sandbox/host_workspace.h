// A session's workspace as the host holds it: the directory a sandbox shows as /sandbox, kept
// by the session (not by its worker) so that a replaced kernel finds its files again.
//
// Where it lives: `<runtime dir>/ws-<n>`. Run as root, the directory is a tmpfs of its own,
// capped in bytes and inodes (`--workspace-mb`, `--workspace-inodes`), mounted nosuid,nodev:
// the limits hold exactly on any host filesystem (no quota support needed), a hardlink can
// never reach a file outside it, and nothing is left on disk by a crash. Its pages are
// memory, charged to the memory cgroup of whoever writes them (the kernel's writes count
// toward its memory limit). Otherwise (`--sandbox=none`, rootless) it is a plain directory
// and its size is not limited. docs/architecture.md says why.
//
// The kernel owns the contents and is hostile: the gateway reaches them only through the
// ci_workspace library on RootFd(), never by path.
//
// Thread-safety: Create and Remove block (mount, unmount, rmdir) and run on the blocking
// executor; the accessors are safe from any thread. Owner() changes when a kernel is attached.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "workspace/parents.h"

namespace sandbox {

struct WorkspaceLimits {
  std::uint64_t bytes = 1ull << 30;
  std::uint64_t inodes = 100000;
};

class HostWorkspace {
 public:
  // Makes the directory `path` (which must not exist) and, when `tmpfs`, mounts a tmpfs of
  // `limits` over it whose mount source names `scope` (for the sweep after a crash).
  static common::Result<std::shared_ptr<HostWorkspace>> Create(std::filesystem::path path,
                                                               bool tmpfs,
                                                               const WorkspaceLimits& limits,
                                                               const std::string& scope);
  ~HostWorkspace();  // closes the descriptor only: Remove() is explicit (it blocks)
  HostWorkspace(const HostWorkspace&) = delete;
  HostWorkspace& operator=(const HostWorkspace&) = delete;

  const std::filesystem::path& Path() const { return path_; }
  // O_PATH | O_DIRECTORY descriptor of the workspace's root, valid until destruction.
  int RootFd() const { return root_.Get(); }
  bool Limited() const { return tmpfs_; }
  const WorkspaceLimits& Limits() const { return limits_; }

  // Who the workspace's files belong to: the attached kernel's host ids (the gateway's
  // until a kernel is attached). Files the gateway creates are given to this owner.
  workspace::Ownership Owner() const;
  void SetOwner(workspace::Ownership owner);

  // Unmounts (lazily: transfers still holding descriptors finish) and removes the directory.
  // Idempotent. Only once no kernel uses the workspace any more.
  void Remove();

  // Unmounts the workspaces of `scope` still mounted (left by a crashed run); returns their
  // mount points.
  static std::vector<std::string> SweepStale(const std::string& scope);

 private:
  HostWorkspace(std::filesystem::path path, common::UniqueFd root, bool tmpfs,
                WorkspaceLimits limits);

  std::filesystem::path path_;
  common::UniqueFd root_;
  bool tmpfs_;
  WorkspaceLimits limits_;
  std::atomic<std::uint64_t> owner_;  // uid << 32 | gid
  std::atomic<bool> removed_{false};
};

}  // namespace sandbox
