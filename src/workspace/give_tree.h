// Giving a workspace's files to another owner: a kernel that replaces the session's previous
// one runs as another host uid, and must be able to change the files the previous one left.
// Safe from any thread.
//
// Meant for a workspace that is a file system of its own (HostWorkspace's tmpfs): a hardlink
// there cannot name a file outside it. The walk never follows a link: each entry is changed
// with fchownat(AT_SYMLINK_NOFOLLOW) in a directory we hold a descriptor of (a symbolic link
// gets the new owner itself; its target is untouched), each subdirectory opened with
// O_NOFOLLOW relative to its parent, mount points not entered. It is bounded: entries deeper
// than `max_depth` keep their owner (the kernel can still read them, as the gateway made them
// or as the previous kernel left their modes) and the walk says so. Entries the kernel
// changes meanwhile may be missed; the kernel that runs during the walk is the new owner.
#pragma once

#include <cstddef>

#include "workspace/error.h"
#include "workspace/parents.h"

namespace workspace {

struct GiveReport {
  std::size_t changed = 0;  // entries whose owner was changed
  bool depth_cut = false;   // something lay deeper than max_depth and kept its owner
};

// The root directory itself and everything under it get `owner`.
FsResult<GiveReport> GiveTree(int root_fd, Ownership owner, std::size_t max_depth = 64);

}  // namespace workspace
