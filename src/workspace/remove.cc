#include "workspace/remove.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "workspace/beneath.h"
#include "workspace/dir_reader.h"

namespace workspace {
namespace {

constexpr int kAttempts = 4;  // per entry: swapped between file and directory, or refilled

class TreeRemover {
 public:
  TreeRemover(dev_t root_dev, std::size_t max_depth, std::string what)
      : root_dev_(root_dev), max_depth_(max_depth), what_(std::move(what)) {}

  // Removes `name` in `dir`, whatever it is now; `is_dir` is a hint that may be stale.
  FsResult<void> RemoveEntry(int dir, const std::string& name, bool is_dir, std::size_t depth) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      if (!is_dir) {
        if (unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) return {};
        if (errno != EISDIR) return ErrnoFsFail("unlinkat", what_, errno);
        is_dir = true;  // it became a directory
        continue;
      }
      auto emptied = Empty(dir, name, depth);
      if (!emptied) return std::unexpected(std::move(emptied.error()));
      if (!*emptied) {  // not a directory (any more): a link or a file
        is_dir = false;
        continue;
      }
      if (unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return {};
      if (errno == ENOTDIR) {
        is_dir = false;
      } else if (errno != ENOTEMPTY && errno != EEXIST) {
        return ErrnoFsFail("unlinkat(AT_REMOVEDIR)", what_, errno);
      }
    }
    return FsFail(FsErrc::kIo, what_ + ": kept changing while being removed");
  }

 private:
  // Removes everything in directory `name` of `dir`; false when `name` is not a directory.
  FsResult<bool> Empty(int dir, const std::string& name, std::size_t depth) {
    if (depth > max_depth_) {
      return FsFail(FsErrc::kTooDeep,
                    what_ + ": deeper than " + std::to_string(max_depth_) + " levels");
    }
    auto reader = DirReader::OpenChild(dir, name, root_dev_, what_);
    if (!reader) {
      const FsErrc code = reader.error().code;
      if (code == FsErrc::kNotFound) return true;  // gone already: rmdir says ENOENT
      if (code == FsErrc::kWrongType) return false;
      struct stat st;  // kLink: a symbolic link (unlink it) or a mount point (refuse)
      if (code == FsErrc::kLink && fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return false;
      }
      return std::unexpected(std::move(reader.error()));
    }
    for (;;) {
      auto entry = reader->Next();
      if (!entry) return std::unexpected(std::move(entry.error()));
      if (!entry->has_value()) return true;
      const DirReader::Entry& child = **entry;
      bool child_is_dir = child.d_type == DT_DIR;
      if (child.d_type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(reader->fd(), child.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        child_is_dir = S_ISDIR(st.st_mode);
      }
      if (auto removed = RemoveEntry(reader->fd(), child.name, child_is_dir, depth + 1); !removed) {
        return std::unexpected(std::move(removed.error()));
      }
    }
  }

  const dev_t root_dev_;
  const std::size_t max_depth_;
  const std::string what_;
};

}  // namespace

FsResult<void> Remove(int root_fd, const Components& path, bool recursive, std::size_t max_depth) {
  const std::string what = MessagePath(path);
  if (path.empty()) return FsFail(FsErrc::kBadPath, "the workspace root cannot be removed");
  const std::span<const std::string> parents(path.data(), path.size() - 1);
  auto parent = OpenBeneath(root_fd, parents, O_PATH | O_DIRECTORY, what);
  if (!parent) return std::unexpected(std::move(parent.error()));
  const std::string& name = path.back();

  struct stat st;
  if (fstatat(parent->fd.Get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoFsFail("fstatat", what, errno);
  }
  if (!recursive) {
    if (!S_ISDIR(st.st_mode) && unlinkat(parent->fd.Get(), name.c_str(), 0) == 0) return {};
    if (S_ISDIR(st.st_mode) || errno == EISDIR) {
      return FsFail(FsErrc::kWrongType, what + " is a directory (delete it with recursive=true)");
    }
    return ErrnoFsFail("unlinkat", what, errno);
  }
  TreeRemover remover(parent->st.st_dev, max_depth, what);
  return remover.RemoveEntry(parent->fd.Get(), name, S_ISDIR(st.st_mode), 0);
}

}  // namespace workspace
