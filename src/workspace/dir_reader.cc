#include "workspace/dir_reader.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace workspace {

FsResult<DirReader> DirReader::FromFd(common::UniqueFd fd, std::string_view what) {
  DIR* dir = fdopendir(fd.Get());
  if (dir == nullptr) return ErrnoFsFail("fdopendir", what, errno);
  fd.Release();  // the DIR owns it now
  return DirReader(dir, std::string(what));
}

FsResult<DirReader> DirReader::OpenChild(int parent_fd, const std::string& name, dev_t root_dev,
                                         std::string_view what) {
  const int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoFsFail("openat", what, errno);  // a link here: ENOTDIR or ELOOP
  common::UniqueFd owned(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoFsFail("fstat", what, errno);
  if (st.st_dev != root_dev) return ErrnoFsFail("openat", what, EXDEV);
  return FromFd(std::move(owned), what);
}

FsResult<std::optional<DirReader::Entry>> DirReader::Next() {
  for (;;) {
    errno = 0;
    const dirent* entry = readdir(dir_.get());
    if (entry == nullptr) {
      if (errno != 0) return ErrnoFsFail("readdir", what_, errno);
      return std::nullopt;
    }
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    return Entry{name, entry->d_type};
  }
}

FsResult<SmallestNames> ReadSmallestNames(DirReader& reader, std::size_t keep) {
  SmallestNames out;
  const auto by_name = [](const DirReader::Entry& a, const DirReader::Entry& b) {
    return a.name < b.name;
  };
  // Collect up to 2 * keep, then cut back to the keep smallest: O(total) time, O(keep) memory.
  const std::size_t high_water = std::max<std::size_t>(2 * keep, 64);
  for (;;) {
    auto next = reader.Next();
    if (!next) return std::unexpected(std::move(next.error()));
    if (!next->has_value()) break;
    ++out.total;
    if (keep == 0) continue;
    out.entries.push_back(std::move(**next));
    if (out.entries.size() >= high_water) {
      std::nth_element(out.entries.begin(), out.entries.begin() + static_cast<long>(keep - 1),
                       out.entries.end(), by_name);
      out.entries.resize(keep);
    }
  }
  std::sort(out.entries.begin(), out.entries.end(), by_name);
  if (out.entries.size() > keep) out.entries.resize(keep);
  return out;
}

}  // namespace workspace
