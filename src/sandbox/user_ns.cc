#include "sandbox/user_ns.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace sandbox {
namespace {

common::Result<void> WriteProcFile(pid_t pid, const char* name, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  common::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.Valid()) return common::ErrnoFail("open(" + path + ")");
  // The kernel takes a map in one write only.
  if (::write(fd.Get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return common::ErrnoFail("write(" + path + ")");
  return {};
}

std::string Line(unsigned inside, unsigned host) {
  return std::to_string(inside) + " " + std::to_string(host) + " 1\n";
}

}  // namespace

UserNsMap UserNsMap::ForSlot(unsigned root_host_uid, unsigned kernel_host_uid) {
  return {.privileged = true,
          .root_host_uid = root_host_uid,
          .kernel_host_uid = kernel_host_uid,
          .root_host_gid = root_host_uid};
}

UserNsMap UserNsMap::ForSelf() {
  return {.privileged = false,
          .root_host_uid = ::geteuid(),
          .kernel_host_uid = ::geteuid(),
          .root_host_gid = ::getegid()};
}

std::string UserNsMap::UidMapText() const {
  if (!privileged) return Line(0, root_host_uid);
  return Line(0, root_host_uid) + Line(kKernelUid, kernel_host_uid);
}

std::string UserNsMap::GidMapText() const {
  if (!privileged) return Line(0, root_host_gid);
  return Line(0, root_host_gid) + Line(kKernelUid, kernel_host_uid);
}

common::Result<void> WriteIdMaps(pid_t pid, const UserNsMap& map) {
  // Without CAP_SETGID in the parent namespace a gid map needs setgroups(2) refused first
  // (else a process could drop a group that denies it access).
  if (!map.privileged) {
    if (auto r = WriteProcFile(pid, "setgroups", "deny"); !r) return r;
  }
  if (auto r = WriteProcFile(pid, "uid_map", map.UidMapText()); !r) return r;
  return WriteProcFile(pid, "gid_map", map.GidMapText());
}

}  // namespace sandbox
