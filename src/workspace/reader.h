// Opening a workspace file for download. Safe from any thread.
//
// OpenRegularForRead resolves the client's path beneath the root without links (see
// beneath.h) and opens the last component with O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
// O_NOCTTY | O_CLOEXEC, then requires fstat to say S_ISREG on the descriptor it holds, so:
//   - a symbolic link (last or parent component) is refused, never read (kLink);
//   - a fifo opens without blocking (O_NONBLOCK) and is then refused (kWrongType), a socket
//     fails to open (ENXIO -> kWrongType), a directory is refused (kWrongType);
//   - device nodes: a sandboxed kernel cannot create them (mknod needs CAP_MKNOD in the
//     initial user namespace), and the integrator should mount the workspace nodev as well;
//     one found anyway is refused after the open.
// O_NONBLOCK is cleared before returning. What is checked is the inode behind the descriptor,
// so a name swapped after the open does not matter: we read what we checked.
//
// Hardlinks: a regular file with several links is read like any other. It is inside the
// workspace, and a kernel cannot link a file from outside its /sandbox mount (EXDEV), nor,
// with fs.protected_hardlinks, one it could not read and write anyway; so reading it gives
// the kernel nothing it did not have. (Writes never open an existing target: writer.h.)
//
// `size` is st_size at the open: a sparse file reports its apparent size, so the gateway caps
// downloads by `size`, not by blocks; the kernel can truncate or extend the file while it is
// being sent, and ReadExactly reports a file that shrank, so the response can be cut off
// instead of padded.
#pragma once

#include <cstdint>
#include <span>

#include "common/unique_fd.h"
#include "workspace/client_path.h"
#include "workspace/error.h"

namespace workspace {

struct ReadableFile {
  common::UniqueFd fd;     // O_RDONLY, blocking, close-on-exec
  std::uint64_t size = 0;  // st_size when opened
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
  std::uint64_t links = 0;  // st_nlink; more than one is allowed (see above)
};

// `path` must be non-empty (ParseClientPath with PathUse::kFile).
FsResult<ReadableFile> OpenRegularForRead(int root_fd, const Components& path);

// Fills `buffer` from `offset` with pread (EINTR retried); fails with kIo when the file ends
// before the buffer is full (it shrank while being read) or on a read error.
FsResult<void> ReadExactly(const ReadableFile& file, std::uint64_t offset, std::span<char> buffer);

}  // namespace workspace
