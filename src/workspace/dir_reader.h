// Reading a directory's names without following anything: fdopendir on a descriptor opened
// with O_NOFOLLOW | O_DIRECTORY (glibc reads it with getdents64, 32 KiB at a time), "." and
// ".." skipped. No stat per entry: callers fstatat(AT_SYMLINK_NOFOLLOW) what they keep.
// One DirReader per thread at a time.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "workspace/error.h"

namespace workspace {

class DirReader {
 public:
  struct Entry {
    std::string name;
    unsigned char d_type;  // DT_DIR, DT_REG, DT_LNK, ... or DT_UNKNOWN (then fstatat)
  };

  // Takes a directory descriptor opened for reading (not O_PATH).
  static FsResult<DirReader> FromFd(common::UniqueFd fd, std::string_view what);

  // Opens `name` in `parent_fd` with O_RDONLY | O_DIRECTORY | O_NOFOLLOW. A name that is not
  // a directory (a link swapped in, say) fails with kWrongType or kLink; one on another
  // device than `root_dev` (a mount point) with kLink.
  static FsResult<DirReader> OpenChild(int parent_fd, const std::string& name, dev_t root_dev,
                                       std::string_view what);

  int fd() const { return dirfd(dir_.get()); }  // for the *at calls; owned by the reader

  // The next entry, or nullopt at the end.
  FsResult<std::optional<Entry>> Next();

 private:
  struct Closer {
    void operator()(DIR* dir) const { closedir(dir); }
  };
  DirReader(DIR* dir, std::string what) : dir_(dir), what_(std::move(what)) {}
  std::unique_ptr<DIR, Closer> dir_;
  std::string what_;
};

struct SmallestNames {
  std::vector<DirReader::Entry> entries;  // sorted by name (bytes)
  std::size_t total = 0;                  // names in the directory, kept or not
};

// Reads the whole directory and keeps the `keep` smallest names, in memory O(keep).
FsResult<SmallestNames> ReadSmallestNames(DirReader& reader, std::size_t keep);

}  // namespace workspace
