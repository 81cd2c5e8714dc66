// ci_workspace: the gateway's access to a session's workspace (/sandbox inside the sandbox),
// for the file routes and the per-execution change list. Include this header for all of it.
// Depends on ci_common only. Every function is safe from any thread and takes the root as
// an int: a descriptor of the workspace directory (O_PATH | O_DIRECTORY is enough) that the
// caller owns and keeps open for the call.
//
// Threat model (issue 11, item 5): the kernel owns the workspace's contents and is hostile.
// It plants symbolic links, hardlinks, fifos, sockets, sparse files, deep trees and names
// with any bytes, and changes them while the gateway works. The gateway may run as root.
// What this library guarantees, and where:
//   - no operation follows a symbolic link or a magic link, leaves the root or crosses a
//     mount point: every multi-component path goes through OpenBeneath (beneath.h: openat2
//     with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
//     or a component-by-component openat walk where openat2 is missing); every other call is
//     an *at call on one name in a directory we hold a descriptor of, with
//     AT_SYMLINK_NOFOLLOW / O_NOFOLLOW or a call that never follows (unlinkat, renameat,
//     mkdirat);
//   - only regular files are read, and opening never blocks (reader.h); fifos and sockets
//     are listed as "other", never opened;
//   - writes never open an existing file: a temporary renamed into place (writer.h), so a
//     link or a hardlink at the target is replaced, never written through; nothing partial is
//     left on any failure; mode and owner are set through descriptors of files we created;
//   - deletion unlinks names, never what a link points to (remove.h);
//   - walks are bounded in entries and depth (listing.h, snapshot.h, remove.h).
// Client paths (client_path.h) are validated before any of this: `..`, NUL, paths outside
// /sandbox, over-long paths and names are refused with kBadPath (400).
//
// Errors are FsError (error.h), each mapped to an HTTP status by HttpStatus.
//
// Not covered here (the integrator's part): mounting the workspace nosuid,nodev (devices
// cannot be created by a sandboxed kernel anyway); doing the file work with the worker's
// uid instead of root (WriteOptions::owner gives created files and directories to the
// kernel's uid); quotas (ENOSPC/EDQUOT are reported as kNoSpace).
#pragma once

#include "workspace/beneath.h"      // IWYU pragma: export
#include "workspace/client_path.h"  // IWYU pragma: export
#include "workspace/entry_type.h"   // IWYU pragma: export
#include "workspace/error.h"        // IWYU pragma: export
#include "workspace/listing.h"      // IWYU pragma: export
#include "workspace/reader.h"       // IWYU pragma: export
#include "workspace/remove.h"       // IWYU pragma: export
#include "workspace/snapshot.h"     // IWYU pragma: export
#include "workspace/writer.h"       // IWYU pragma: export
