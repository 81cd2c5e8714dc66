#include "sandbox/host_workspace.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/worker_mount.h"

namespace sandbox {
namespace {

std::string SourceFor(const std::string& scope) { return "ci-workspace-" + scope; }

std::uint64_t Pack(workspace::Ownership owner) {
  return (static_cast<std::uint64_t>(owner.uid) << 32) | owner.gid;
}

}  // namespace

common::Result<std::shared_ptr<HostWorkspace>> HostWorkspace::Create(std::filesystem::path path,
                                                                     bool tmpfs,
                                                                     const WorkspaceLimits& limits,
                                                                     const std::string& scope) {
  if (::mkdir(path.c_str(), 0700) != 0) return common::ErrnoFail("mkdir(" + path.string() + ")");
  if (tmpfs) {
    // mode 0700 until a kernel is attached and the root is given to it.
    const std::string options = "mode=0700,size=" + std::to_string(limits.bytes) +
                                ",nr_inodes=" + std::to_string(limits.inodes);
    if (::mount(SourceFor(scope).c_str(), path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                options.c_str()) != 0) {
      const auto failed = common::ErrnoFail("mount(tmpfs on " + path.string() + ")");
      ::rmdir(path.c_str());
      return failed;
    }
  }
  common::UniqueFd root(::open(path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.Valid()) {
    const auto failed = common::ErrnoFail("open(" + path.string() + ")");
    if (tmpfs) ::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    ::rmdir(path.c_str());
    return failed;
  }
  return std::shared_ptr<HostWorkspace>(
      new HostWorkspace(std::move(path), std::move(root), tmpfs, limits));
}

HostWorkspace::HostWorkspace(std::filesystem::path path, common::UniqueFd root, bool tmpfs,
                             WorkspaceLimits limits)
    : path_(std::move(path)),
      root_(std::move(root)),
      tmpfs_(tmpfs),
      limits_(limits),
      owner_(Pack({::geteuid(), ::getegid()})) {}

HostWorkspace::~HostWorkspace() = default;

workspace::Ownership HostWorkspace::Owner() const {
  const std::uint64_t packed = owner_.load();
  return {static_cast<uid_t>(packed >> 32), static_cast<gid_t>(packed & 0xffffffffu)};
}

void HostWorkspace::SetOwner(workspace::Ownership owner) { owner_.store(Pack(owner)); }

void HostWorkspace::Remove() {
  if (removed_.exchange(true)) return;
  std::error_code ec;
  if (tmpfs_) {
    // Its files go with the file system; the directory under it was ours and empty.
    ::umount2(path_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    std::filesystem::remove(path_, ec);
  } else {
    // A plain directory (--sandbox=none, which isolates nothing anyway): removed by path,
    // not following links.
    std::filesystem::remove_all(path_, ec);
  }
}

std::vector<std::string> HostWorkspace::SweepStale(const std::string& scope) {
  return SweepTmpfsMounts(SourceFor(scope));
}

}  // namespace sandbox
