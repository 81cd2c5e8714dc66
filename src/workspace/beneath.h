// Opening a path beneath a directory descriptor without ever following a link or leaving it.
// Every workspace operation resolves client paths through OpenBeneath; nothing else in this
// module hands a multi-component path to the kernel. Safe from any thread (the resolver
// switch is an atomic; the testing override is meant for single-threaded tests).
//
// Guarantees, whatever the kernel (the hostile one in the sandbox) does to the tree while we
// resolve, including renames and symlinks swapped in mid-walk:
//   - no symbolic link is followed, neither in a parent component nor in the last one; a
//     link in the path fails with FsErrc::kLink (ELOOP). With O_PATH in `flags` the last
//     component is opened without following too, and a link found there is refused as well;
//   - resolution never leaves `dir_fd`'s tree and never crosses a mount point (EXDEV ->
//     kLink): no "..", no absolute links, no magic links (/proc/self/fd/N);
//   - the last open always carries O_NOFOLLOW | O_CLOEXEC; callers add O_NONBLOCK where a
//     fifo could be opened, so that opening never blocks.
//
// Two resolvers, with the same guarantees:
//   - openat2(2) (Linux 5.6+) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, one call; EAGAIN (a concurrent rename or mount
//     anywhere on the system) is retried a few times;
//   - the walk, used when openat2 answers ENOSYS (old kernels; seccomp filters that refuse
//     it): one openat(O_PATH | O_DIRECTORY | O_NOFOLLOW) per component relative to the
//     previous descriptor, so a component swapped for a link between two steps fails
//     (ENOTDIR / ELOOP) instead of being followed, then the last openat with O_NOFOLLOW.
//     Mount crossings are caught by comparing st_dev with `dir_fd`'s: a bind mount of the
//     same file system inside the tree is not detected there (openat2 catches it); the
//     sandbox's mounts do not propagate to the gateway's namespace.
#pragma once

#include <sys/stat.h>

#include <span>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "workspace/error.h"

namespace workspace {

struct Opened {
  common::UniqueFd fd;
  struct stat st;  // fstat of fd: what was opened, not what a name pointed at before
};

// Opens `components` (each a valid component, see IsValidComponent; empty: `dir_fd` itself,
// reopened as ".") beneath `dir_fd`, which may be an O_PATH descriptor. `flags` are the last
// open's (O_PATH | O_DIRECTORY, O_RDONLY | O_NONBLOCK, ...), O_CREAT and O_TMPFILE excluded;
// O_NOFOLLOW | O_CLOEXEC are added. `what` names the path in error messages.
FsResult<Opened> OpenBeneath(int dir_fd, std::span<const std::string> components, int flags,
                             std::string_view what);

enum class Resolver { kAuto, kOpenat2, kWalk };

// The resolver OpenBeneath uses now: kOpenat2 until openat2 has answered ENOSYS once, then
// kWalk; or whatever SetResolverForTesting forced.
Resolver ActiveResolver();

// Tests only: kWalk forces the fallback walk, kOpenat2 forbids it (ENOSYS then fails with
// kIo), kAuto restores the normal choice. Not synchronized with concurrent OpenBeneath calls.
void SetResolverForTesting(Resolver resolver);

// True when this kernel has openat2 (probed once).
bool KernelHasOpenat2();

}  // namespace workspace
