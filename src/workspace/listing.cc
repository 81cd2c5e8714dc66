#include "workspace/listing.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "workspace/beneath.h"
#include "workspace/dir_reader.h"

namespace workspace {

FsResult<Listing> List(int root_fd, const Components& dir, std::size_t max_entries) {
  const std::string what = MessagePath(dir);
  auto opened = OpenBeneath(root_fd, dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK, what);
  if (!opened) {
    if (opened.error().code == FsErrc::kWrongType) {
      return FsFail(FsErrc::kWrongType, what + " is not a directory");
    }
    return std::unexpected(std::move(opened.error()));
  }
  auto reader = DirReader::FromFd(std::move(opened->fd), what);
  if (!reader) return std::unexpected(std::move(reader.error()));
  auto names = ReadSmallestNames(*reader, max_entries);
  if (!names) return std::unexpected(std::move(names.error()));

  Listing listing;
  listing.total = names->total;
  listing.truncated = names->total > names->entries.size();
  listing.entries.reserve(names->entries.size());
  for (DirReader::Entry& entry : names->entries) {
    struct stat st;
    if (fstatat(reader->fd(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoFsFail("fstatat", what, errno);
    }
    const EntryType type = TypeOf(st.st_mode);
    const std::uint64_t size =
        type == EntryType::kFile ? static_cast<std::uint64_t>(st.st_size) : 0;
    listing.entries.push_back({std::move(entry.name), type, size, Nanoseconds(st.st_mtim)});
  }
  return listing;
}

}  // namespace workspace
