// Atomic uploads into the workspace: a temporary file in the target's directory, written in
// chunks, renamed over the target on Commit. One AtomicWriter per upload, used from one
// thread at a time (it may move between threads); BeginWrite is safe from any thread.
//
// Guarantees:
//   - the target name changes only at Commit, in one renameat: readers and the kernel see the
//     old file or the whole new one, never a part (a directory at the target: kWrongType);
//   - nothing is left behind on any failure (ENOSPC or EDQUOT mid-write -> kNoSpace, more
//     than max_bytes -> kTooLarge, an error, Abort, destruction without Commit): the
//     temporary is O_TMPFILE (nameless until Commit, which links it to a random name with
//     linkat(AT_EMPTY_PATH) or through /proc/self/fd and renames that) or, where the file system
//     lacks O_TMPFILE, a name ".ci-upload-<32 random hex>.part" created O_CREAT | O_EXCL |
//     O_NOFOLLOW and unlinked on failure. A gateway crash can leave such a named temporary.
//     The file that was at the target before stays untouched until the rename;
//   - an existing target is never opened, truncated, chmodded or chowned: if it is a
//     symbolic link, the rename replaces the link itself (its target outside is untouched);
//     if it is a hardlink to some other file, the rename replaces this name only, and the
//     other name keeps its old contents. As root, writing into an existing inode would modify
//     every file linked to it; replacing by rename is what makes that impossible;
//   - mode and owner are set on the temporary through its descriptor at Commit, just before
//     it is named; while being written it is 0600 and the gateway's, so a kernel of another
//     uid cannot open a named temporary and write into it;
//   - parents are created as MakeParents (parents.h) does: no link planted meanwhile is
//     followed.
// fsync: not by default. The rename gives atomicity for every observer; durability across a
// host crash is moot for a workspace that does not outlive its session. `durable` fsyncs the
// file and its directory (and catches a file system that reports ENOSPC only at sync, as
// network file systems may; ext4, xfs and tmpfs report it at write, which Write maps).
// The returned sha256 is that of the bytes written. The kernel can change or replace the file
// right after Commit, and one running as the gateway's uid (rootless) could open a named
// temporary before; the hash describes the upload, not what the file holds later.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "workspace/client_path.h"
#include "workspace/error.h"
#include "workspace/parents.h"

namespace workspace {

struct WriteOptions {
  std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
  mode_t file_mode = 0644;
  mode_t dir_mode = 0755;
  std::optional<Ownership> owner =
      std::nullopt;      // the file and each directory created (e.g. the kernel's uid)
  bool durable = false;  // fsync the file and its directory at Commit
};

struct WriteResult {
  std::uint64_t size = 0;
  std::string sha256;  // lowercase hex, 64 characters
};

class AtomicWriter {
 public:
  AtomicWriter(AtomicWriter&& other) noexcept;
  AtomicWriter& operator=(AtomicWriter&& other) noexcept;
  ~AtomicWriter();  // Abort() unless committed

  // Appends `chunk`. On failure the writer is aborted (temporary gone) and every later call
  // fails.
  FsResult<void> Write(std::string_view chunk);
  // Moves the file into place. On failure the writer is aborted. At most once.
  FsResult<WriteResult> Commit();
  // Drops the temporary; the target stays as it was. Idempotent.
  void Abort();

  std::uint64_t bytes_written() const { return bytes_; }

 private:
  friend FsResult<AtomicWriter> BeginWrite(int root_fd, const Components& path,
                                           const WriteOptions& options);
  struct Hasher;
  enum class State { kOpen, kCommitted, kAborted };

  AtomicWriter(common::UniqueFd dir, common::UniqueFd file, std::string name, std::string temp_name,
               std::string what, const WriteOptions& options);
  FsResult<void> NameTemporary();
  FsResult<void> Fail(std::unexpected<FsError> error);

  common::UniqueFd dir_;
  common::UniqueFd file_;
  std::string name_;       // the target's name in dir_
  std::string temp_name_;  // the temporary's name in dir_; empty while it has none (O_TMPFILE)
  std::string what_;       // display path for messages
  WriteOptions options_;
  std::unique_ptr<Hasher> hasher_;
  std::uint64_t bytes_ = 0;
  State state_ = State::kOpen;
};

// Creates the missing parents of `path` (non-empty) and a temporary beside the target.
// Fails early with kWrongType when the target is a directory now (Commit checks again).
FsResult<AtomicWriter> BeginWrite(int root_fd, const Components& path, const WriteOptions& options);

// Tests only: kNamed skips O_TMPFILE, so that the named fallback is tested too; kProcLink
// names O_TMPFILE temporaries through /proc/self/fd without trying AT_EMPTY_PATH. Not
// synchronized.
enum class TempStrategy { kAuto, kNamed, kProcLink };
void SetTempStrategyForTesting(TempStrategy strategy);

}  // namespace workspace
