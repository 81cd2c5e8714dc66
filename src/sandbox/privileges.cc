#include "sandbox/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sandbox {
namespace {

common::Result<void> SetLimit(int resource, rlim_t value, const char* name, rlim_t max = 0) {
  const rlimit limit{value, max > value ? max : value};
  if (::setrlimit(resource, &limit) != 0)
    return common::ErrnoFail(std::string("setrlimit(") + name + ")");
  return {};
}

}  // namespace

common::Result<void> ApplyRlimits(const Limits& limits) {
  if (auto r = SetLimit(RLIMIT_CORE, 0, "RLIMIT_CORE"); !r) return r;
  if (auto r = SetLimit(RLIMIT_FSIZE, limits.file_size_bytes, "RLIMIT_FSIZE"); !r) return r;
  if (auto r = SetLimit(RLIMIT_NOFILE, limits.open_files, "RLIMIT_NOFILE"); !r) return r;
  // A second line behind the pids cgroup: per-uid, and the uid is the worker's own.
  return SetLimit(RLIMIT_NPROC, limits.pids, "RLIMIT_NPROC", limits.pids_max);
}

common::Result<void> DropPrivileges(unsigned uid, unsigned gid) {
  // Uid 0 of the namespace (the rootless kernel) gets no capabilities from an exec either.
  if (::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED, 0,
              0, 0) != 0) {
    return common::ErrnoFail("prctl(PR_SET_SECUREBITS)");
  }
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return common::ErrnoFail("prctl(PR_CAPBSET_DROP)");
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return common::ErrnoFail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  // Refused where the user namespace was made without privileges (user_ns.h): the groups
  // then stay the gateway's, unmapped, and nothing in the namespace can change them.
  if (::setgroups(0, nullptr) != 0 && errno != EPERM) return common::ErrnoFail("setgroups");
  if (::setresgid(gid, gid, gid) != 0) return common::ErrnoFail("setresgid");
  if (::setresuid(uid, uid, uid) != 0) return common::ErrnoFail("setresuid");
  // Leaving uid 0 with no keep-caps clears permitted and effective; make sure.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) return common::ErrnoFail("capset");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return common::ErrnoFail("prctl(PR_SET_NO_NEW_PRIVS)");
  if (uid != 0 && ::setuid(0) == 0)
    return common::Fail("privileges were not dropped: setuid(0) succeeded");
  if (::syscall(SYS_capget, &header, data) != 0) return common::ErrnoFail("capget");
  for (const auto& set : data) {
    if (set.effective != 0 || set.permitted != 0 || set.inheritable != 0)
      return common::Fail("privileges were not dropped: capabilities remain");
  }
  return {};
}

}  // namespace sandbox
