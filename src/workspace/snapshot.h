// What an execution changed in the workspace (issue 11, item 4): a snapshot of the tree
// before and after, and their difference. TakeSnapshot is safe from any thread; a Snapshot is
// a plain value.
//
// The walk never follows a link and opens no file: each directory is opened with
// openat(O_RDONLY | O_DIRECTORY | O_NOFOLLOW) relative to its parent's descriptor and read
// with getdents64 (fdopendir), each entry described by fstatat(AT_SYMLINK_NOFOLLOW). A link
// to a directory is an "other" entry, not entered; a mount point (another st_dev) is an entry
// but not entered. Bounds: at most `max_entries` entries (then `truncated`) and `max_depth`
// levels (deeper entries are never seen, in either snapshot, and `depth_cut` is set).
//
// Entries are kept in depth-first order with every directory's names sorted, which is the
// order of ComparePaths ("a" < "a/x" < "a!"). A walk cut by max_entries has therefore seen
// exactly the entries up to its last one, and Diff compares two snapshots only up to the
// smaller of their cut points, so a cut never shows up as files created or deleted.
//
// Diff reports, per path: created (absent before), deleted (absent after), modified (same
// path, but another type, size, mtime, ctime or inode: content rewritten even with the mtime
// put back, or replaced by a rename). A directory is reported when created or deleted, not
// when only its own times change (the entries inside that changed are reported themselves).
// The kernel can race the walk (rename a tree mid-walk); the result is then some mix of the
// two states, never an error and never anything outside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workspace/entry_type.h"
#include "workspace/error.h"

namespace workspace {

struct SnapshotLimits {
  std::size_t max_entries = 100'000;
  std::size_t max_depth = 32;  // directory levels below the root
};

struct SnapshotEntry {
  std::string path;  // relative to the root, "a/b.csv"; bytes
  EntryType type;
  std::uint64_t size;  // st_size for files, 0 for the rest
  std::int64_t mtime_ns;
  std::int64_t ctime_ns;
  std::uint64_t inode;
};

struct Snapshot {
  std::vector<SnapshotEntry> entries;  // in ComparePaths order
  bool truncated = false;              // stopped at max_entries
  bool depth_cut = false;              // something lay deeper than max_depth
  bool incomplete = false;             // a directory could not be read (then not entered)
};

FsResult<Snapshot> TakeSnapshot(int root_fd, const SnapshotLimits& limits = {});

enum class Change { kCreated, kModified, kDeleted };
std::string_view ChangeName(Change change);  // "created", "modified", "deleted"

struct FileChange {
  std::string path;  // relative to the root; DisplayPath-style "/sandbox/..." is the caller's
  Change change;
  EntryType type;      // after, or before for kDeleted
  std::uint64_t size;  // after, or before for kDeleted
};

struct ChangeList {
  std::vector<FileChange> changes;  // in ComparePaths order, at most max_changes
  std::size_t total = 0;            // changes found, listed or not
  bool truncated = false;  // changes left out, or a snapshot was cut or incomplete (the list may
                           // then miss changes, or report a directory's entries that one walk
                           // could not read as created or deleted)
};

ChangeList Diff(const Snapshot& before, const Snapshot& after, std::size_t max_changes);

// Orders relative paths component by component (bytes within a component): negative, zero
// or positive.
int ComparePaths(std::string_view a, std::string_view b);

}  // namespace workspace
