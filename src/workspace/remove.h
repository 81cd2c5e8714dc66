// Deleting a workspace entry for DELETE /files. Safe from any thread.
//
// Guarantees, whatever the kernel does meanwhile:
//   - only unlinkat is used, on names in directories we hold descriptors of; unlinkat never
//     follows a link, so a symbolic link is removed itself and its target (inside or outside)
//     stays; a hardlink loses this name only. Nothing is chmodded or chowned;
//   - the parent of `path` is resolved beneath the root without links (kLink otherwise);
//   - a directory goes only with `recursive` (else kWrongType, even when empty). Recursion
//     opens each subdirectory with openat(O_RDONLY | O_DIRECTORY | O_NOFOLLOW) relative to its
//     parent's descriptor: a directory swapped for a link is unlinked as a link, never
//     entered; a mount point (another st_dev) is refused with kLink; more than `max_depth`
//     levels below `path` fails with kTooDeep;
//   - entries the kernel deletes meanwhile are fine; a directory it keeps refilling fails
//     with kIo after a few attempts.
// Not atomic: a recursive removal that fails (kTooDeep, kLink, ...) leaves what it had not
// reached yet. The root itself cannot be removed (kBadPath).
#pragma once

#include <cstddef>

#include "workspace/client_path.h"
#include "workspace/error.h"

namespace workspace {

inline constexpr std::size_t kDefaultMaxRemoveDepth = 64;

FsResult<void> Remove(int root_fd, const Components& path, bool recursive,
                      std::size_t max_depth = kDefaultMaxRemoveDepth);

}  // namespace workspace
