#include "workspace/give_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "workspace/dir_reader.h"

namespace workspace {
namespace {

class Giver {
 public:
  Giver(Ownership owner, dev_t dev, std::size_t max_depth)
      : owner_(owner), dev_(dev), max_depth_(max_depth) {}

  FsResult<void> Walk(DirReader& dir, std::size_t depth) {
    while (true) {
      auto next = dir.Next();
      if (!next) return std::unexpected(std::move(next.error()));
      if (!*next) return {};
      const std::string& name = (*next)->name;
      struct stat st {};
      if (fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
      if (st.st_uid != owner_.uid || st.st_gid != owner_.gid) {
        if (fchownat(dir.fd(), name.c_str(), owner_.uid, owner_.gid, AT_SYMLINK_NOFOLLOW) == 0) {
          ++report_.changed;
        } else if (errno != ENOENT) {
          return ErrnoFsFail("fchownat", "workspace", errno);
        }
      }
      if (!S_ISDIR(st.st_mode) || st.st_dev != dev_) continue;
      if (depth >= max_depth_) {
        report_.depth_cut = true;
        continue;
      }
      auto child = DirReader::OpenChild(dir.fd(), name, dev_, "workspace");
      if (!child) continue;  // swapped for something else meanwhile
      if (auto walked = Walk(*child, depth + 1); !walked) return walked;
    }
  }

  GiveReport report() const { return report_; }

 private:
  Ownership owner_;
  dev_t dev_;
  std::size_t max_depth_;
  GiveReport report_;
};

}  // namespace

FsResult<GiveReport> GiveTree(int root_fd, Ownership owner, std::size_t max_depth) {
  common::UniqueFd root(openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.Valid()) return ErrnoFsFail("openat", "workspace", errno);
  struct stat st {};
  if (fstat(root.Get(), &st) != 0) return ErrnoFsFail("fstat", "workspace", errno);
  GiveReport changed_root;
  if (st.st_uid != owner.uid || st.st_gid != owner.gid) {
    if (fchown(root.Get(), owner.uid, owner.gid) != 0)
      return ErrnoFsFail("fchown", "workspace", errno);
    changed_root.changed = 1;
  }
  auto reader = DirReader::FromFd(std::move(root), "workspace");
  if (!reader) return std::unexpected(std::move(reader.error()));
  Giver giver(owner, st.st_dev, max_depth);
  if (auto walked = giver.Walk(*reader, 0); !walked) return std::unexpected(walked.error());
  GiveReport report = giver.report();
  report.changed += changed_root.changed;
  return report;
}

}  // namespace workspace
