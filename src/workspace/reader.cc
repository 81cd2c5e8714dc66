#include "workspace/reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "workspace/beneath.h"

namespace workspace {

FsResult<ReadableFile> OpenRegularForRead(int root_fd, const Components& path) {
  const std::string what = MessagePath(path);
  if (path.empty()) return FsFail(FsErrc::kWrongType, what + " is a directory");
  auto opened = OpenBeneath(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, what);
  if (!opened) return std::unexpected(std::move(opened.error()));
  const struct stat& st = opened->st;
  if (S_ISDIR(st.st_mode)) return FsFail(FsErrc::kWrongType, what + " is a directory");
  if (!S_ISREG(st.st_mode)) return FsFail(FsErrc::kWrongType, what + " is not a regular file");

  const int fd = opened->fd.Get();
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    return ErrnoFsFail("fcntl(F_SETFL)", what, errno);
  }
  ReadableFile file;
  file.fd = std::move(opened->fd);
  file.size = static_cast<std::uint64_t>(st.st_size);
  file.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  file.inode = st.st_ino;
  file.links = st.st_nlink;
  return file;
}

FsResult<void> ReadExactly(const ReadableFile& file, std::uint64_t offset, std::span<char> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = pread(file.fd.Get(), buffer.data() + done, buffer.size() - done,
                            static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoFsFail("pread", "the file", errno);
    if (n == 0) return FsFail(FsErrc::kIo, "the file shrank while being read");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace workspace
