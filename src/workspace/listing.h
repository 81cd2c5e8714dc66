// Listing one workspace directory for GET /files/list. Safe from any thread.
//
// The directory is resolved beneath the root without links (a link at `dir` or above:
// kLink; a file: kWrongType) and read once; each entry is described by fstatat with
// AT_SYMLINK_NOFOLLOW, so a symbolic link is reported as "other" with size 0 and never
// followed, as are fifos and sockets (never opened). Entries come sorted by name (bytes) and
// at most `max_entries` of them, the smallest names; `total` says how many there were and
// `truncated` whether some were left out. An entry that vanishes between the read and its
// fstatat (the kernel deleting it) is left out. Names are bytes: see client_path.h for how
// the gateway puts them into JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "workspace/client_path.h"
#include "workspace/entry_type.h"
#include "workspace/error.h"

namespace workspace {

struct ListEntry {
  std::string name;  // bytes, as on disk
  EntryType type;
  std::uint64_t size;  // st_size for files, 0 for the rest
  std::int64_t mtime_ns;
};

struct Listing {
  std::vector<ListEntry> entries;
  std::size_t total = 0;
  bool truncated = false;
};

FsResult<Listing> List(int root_fd, const Components& dir, std::size_t max_entries);

}  // namespace workspace
