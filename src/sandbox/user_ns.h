// The user namespace of one namespaces-backend sandbox: which ids inside map to which host
// ids, and writing those maps for a child that was cloned with CLONE_NEWUSER.
//
// Privileged (the gateway holds CAP_SETUID and CAP_SETGID): the sandbox's uid 0 (its init)
// and kKernelUid (the kernel) map to the two host uids of the worker's slot (UidSlots), both
// unprivileged; nothing else is mapped, so host root and every other host id appear as the
// overflow id 65534 inside, and no uid or capability inside is one on the host.
//
// Rootless (an ordinary user runs the gateway, no capabilities): the kernel lets a process map
// exactly one id, its own, and only after giving up setgroups(2) in the namespace. The
// sandbox's uid 0 is then the gateway's user; init and kernel share it (the kernel still has
// no capabilities, and init is not dumpable), and the gateway's supplementary groups stay
// with them (unmapped: they show as 65534 and can be neither used for new files nor dropped).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace sandbox {

// The kernel's uid and gid inside a privileged sandbox ("sandbox" in its /etc/passwd).
inline constexpr unsigned kKernelUid = 1000;

struct UserNsMap {
  bool privileged = true;
  unsigned root_host_uid = 0;    // host uid (and gid) of the sandbox's uid 0
  unsigned kernel_host_uid = 0;  // host uid (and gid) of kKernelUid; unused when rootless
  unsigned root_host_gid = 0;    // rootless: the gateway's gid

  // The uid the kernel runs as, seen from inside.
  unsigned KernelUid() const { return privileged ? kKernelUid : 0; }
  // The host uid files the kernel creates belong to.
  unsigned KernelHostUid() const { return privileged ? kernel_host_uid : root_host_uid; }

  // The map for a worker slot (privileged) or for this process's own ids (rootless).
  static UserNsMap ForSlot(unsigned root_host_uid, unsigned kernel_host_uid);
  static UserNsMap ForSelf();

  // "0 100500 1\n1000 100000 1\n" and the like, as written to /proc/<pid>/uid_map.
  std::string UidMapText() const;
  std::string GidMapText() const;
};

// Writes /proc/<pid>/{setgroups,uid_map,gid_map} for a child in a new user namespace that
// has not yet run anything it was not told to (it waits for the gateway's go-ahead).
common::Result<void> WriteIdMaps(pid_t pid, const UserNsMap& map);

}  // namespace sandbox
