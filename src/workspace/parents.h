// Creating the missing parent directories of an upload, beneath the workspace root, without
// ever following a link planted while we work. Safe from any thread (the testing hook aside).
//
// Each component is opened beneath the directory reached so far (OpenBeneath: O_PATH |
// O_DIRECTORY, no links); a missing one is created with mkdirat and then opened the same
// way again, so a symbolic link the kernel swaps in between the mkdir and the open fails with
// kLink instead of taking the upload elsewhere. A directory we created gets `dir_mode` and,
// when given, `owner` through its own descriptor (fchown/fchmod on an fd, never on a path).
// An existing directory is used as it is: no chmod or chown on anything we did not create.
// Directories created before a failure stay (like mkdir -p); they are empty or the kernel's.
#pragma once

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>

#include "common/unique_fd.h"
#include "workspace/error.h"

namespace workspace {

struct Ownership {
  uid_t uid;
  gid_t gid;
};

// Returns a descriptor of the directory `components` names (the root for none), creating
// what is missing. The descriptor is O_RDONLY | O_DIRECTORY for a directory created here and
// O_PATH otherwise; both work as the dirfd of the *at calls.
FsResult<common::UniqueFd> MakeParents(int root_fd, std::span<const std::string> components,
                                       mode_t dir_mode, const std::optional<Ownership>& owner);

// Tests only: called after each successful mkdirat, before the new directory is opened, to
// simulate a race (e.g. replace it with a symbolic link). nullptr to clear. Not synchronized.
using AfterMkdirHook = void (*)(int dir_fd, const char* name);
void SetAfterMkdirHookForTesting(AfterMkdirHook hook);

}  // namespace workspace
