#include "workspace/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "workspace/beneath.h"
#include "workspace/client_path.h"
#include "workspace/dir_reader.h"

namespace workspace {
namespace {

class Walker {
 public:
  Walker(dev_t root_dev, const SnapshotLimits& limits) : root_dev_(root_dev), limits_(limits) {}

  // Records the entries of `reader`'s directory, whose path is `prefix` ("" or "a/b/").
  // Returns false once max_entries is reached.
  FsResult<bool> Walk(DirReader& reader, const std::string& prefix, std::size_t depth) {
    const std::size_t room = limits_.max_entries - snapshot_.entries.size();
    auto names = ReadSmallestNames(reader, room);
    if (!names) return std::unexpected(std::move(names.error()));
    for (const DirReader::Entry& entry : names->entries) {
      struct stat st;
      if (fstatat(reader.fd(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // deleted since the read
        return ErrnoFsFail("fstatat", "/sandbox/" + prefix, errno);
      }
      if (snapshot_.entries.size() == limits_.max_entries) return Cut();
      const EntryType type = TypeOf(st.st_mode);
      snapshot_.entries.push_back(
          {prefix + entry.name, type,
           type == EntryType::kFile ? static_cast<std::uint64_t>(st.st_size) : 0,
           Nanoseconds(st.st_mtim), Nanoseconds(st.st_ctim), st.st_ino});
      if (type != EntryType::kDir || st.st_dev != root_dev_) continue;
      if (depth + 1 > limits_.max_depth) {
        snapshot_.depth_cut = true;
        continue;
      }
      auto child = DirReader::OpenChild(reader.fd(), entry.name, root_dev_, entry.name);
      if (!child) {  // replaced by a link or a file meanwhile, or unreadable
        if (child.error().code != FsErrc::kNotFound) snapshot_.incomplete = true;
        continue;
      }
      auto more = Walk(*child, snapshot_.entries.back().path + "/", depth + 1);
      if (!more || !*more) return more;
    }
    if (names->total > names->entries.size()) return Cut();
    return true;
  }

  Snapshot Take() { return std::move(snapshot_); }

 private:
  bool Cut() {
    snapshot_.truncated = true;
    return false;
  }

  const dev_t root_dev_;
  const SnapshotLimits limits_;
  Snapshot snapshot_;
};

bool SameEntry(const SnapshotEntry& a, const SnapshotEntry& b) {
  if (a.type != b.type) return false;
  if (a.type == EntryType::kDir) return a.inode == b.inode;
  return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns &&
         a.inode == b.inode;
}

}  // namespace

FsResult<Snapshot> TakeSnapshot(int root_fd, const SnapshotLimits& limits) {
  auto root = OpenBeneath(root_fd, {}, O_RDONLY | O_DIRECTORY, "/sandbox");
  if (!root) return std::unexpected(std::move(root.error()));
  const dev_t dev = root->st.st_dev;
  auto reader = DirReader::FromFd(std::move(root->fd), "/sandbox");
  if (!reader) return std::unexpected(std::move(reader.error()));
  Walker walker(dev, limits);
  if (auto walked = walker.Walk(*reader, "", 0); !walked) {
    return std::unexpected(std::move(walked.error()));
  }
  return walker.Take();
}

int ComparePaths(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    // '/' ends a component, so it sorts before every byte a name can hold.
    const int x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    const int y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x - y;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

std::string_view ChangeName(Change change) {
  switch (change) {
    case Change::kCreated:
      return "created";
    case Change::kModified:
      return "modified";
    case Change::kDeleted:
      break;
  }
  return "deleted";
}

ChangeList Diff(const Snapshot& before, const Snapshot& after, std::size_t max_changes) {
  ChangeList out;
  // A cut snapshot saw exactly the entries up to its last one: compare only up to there.
  const std::string* cut = nullptr;
  for (const Snapshot* s : {&before, &after}) {
    if (!s->truncated) continue;
    const std::string* last = s->entries.empty() ? nullptr : &s->entries.back().path;
    if (last == nullptr) return {{}, 0, true};
    if (cut == nullptr || ComparePaths(*last, *cut) < 0) cut = last;
  }
  // A directory unreadable in one walk makes its entries look created or deleted.
  out.truncated = cut != nullptr || before.incomplete || after.incomplete;
  const auto beyond = [cut](const SnapshotEntry& e) {
    return cut != nullptr && ComparePaths(e.path, *cut) > 0;
  };
  const auto add = [&](const SnapshotEntry& e, Change change) {
    ++out.total;
    if (out.changes.size() < max_changes) {
      out.changes.push_back({e.path, change, e.type, e.size});
    } else {
      out.truncated = true;
    }
  };
  auto b = before.entries.begin();
  auto a = after.entries.begin();
  while (b != before.entries.end() || a != after.entries.end()) {
    const bool b_done = b == before.entries.end() || beyond(*b);
    const bool a_done = a == after.entries.end() || beyond(*a);
    if (b_done && a_done) break;
    const int order = b_done ? 1 : a_done ? -1 : ComparePaths(b->path, a->path);
    if (order < 0) {
      add(*b++, Change::kDeleted);
    } else if (order > 0) {
      add(*a++, Change::kCreated);
    } else {
      if (!SameEntry(*b, *a)) add(*a, Change::kModified);
      ++a;
      ++b;
    }
  }
  return out;
}

}  // namespace workspace
