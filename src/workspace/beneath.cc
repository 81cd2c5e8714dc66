#include "workspace/beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>  // struct open_how, RESOLVE_* (glibc 2.36 has no wrapper)
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "workspace/client_path.h"

namespace workspace {
namespace {

constexpr int kOpenat2Retries = 16;  // EAGAIN: a rename or mount raced the lookup

std::atomic<bool> openat2_missing{false};
std::atomic<Resolver> forced{Resolver::kAuto};

long Openat2(int dir_fd, const char* path, int flags) {
  open_how how{};
  how.flags = static_cast<__u64>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd;
  int tries = 0;
  do {
    fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
  } while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < kOpenat2Retries)));
  return fd;
}

// The errno to report for a failed step at `name` under `dir_fd`: O_NOFOLLOW | O_DIRECTORY
// on a symbolic link gives ENOTDIR (O_PATH) or ELOOP; say "link" for both.
int Classify(int dir_fd, const std::string& name, int err) {
  struct stat st;
  if (err == ENOTDIR && fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode)) {
    return ELOOP;
  }
  return err;
}

// O_DIRECTORY | O_NOFOLLOW on a trailing symbolic link fails with ENOTDIR under openat2
// too: look again without O_DIRECTORY to say "link" (for the message and the status only).
int ClassifyLast(int dir_fd, const std::string& path) {
  const long fd = Openat2(dir_fd, path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ENOTDIR;
  struct stat st;
  const bool link = fstat(static_cast<int>(fd), &st) == 0 && S_ISLNK(st.st_mode);
  close(static_cast<int>(fd));
  return link ? ELOOP : ENOTDIR;
}

FsResult<Opened> Finish(common::UniqueFd fd, std::string_view what) {
  Opened opened{std::move(fd), {}};
  if (fstat(opened.fd.Get(), &opened.st) != 0) return ErrnoFsFail("fstat", what, errno);
  if (S_ISLNK(opened.st.st_mode)) return ErrnoFsFail("openat", what, ELOOP);
  return opened;
}

FsResult<Opened> OpenWithWalk(int dir_fd, std::span<const std::string> components, int flags,
                              std::string_view what) {
  struct stat root;
  if (fstat(dir_fd, &root) != 0) return ErrnoFsFail("fstat", what, errno);
  if (components.empty()) {
    const int fd = openat(dir_fd, ".", flags);
    if (fd < 0) return ErrnoFsFail("openat", what, errno);
    return Finish(common::UniqueFd(fd), what);
  }
  common::UniqueFd held;  // the directory reached so far (dir_fd itself at first)
  int current = dir_fd;
  for (std::size_t i = 0; i < components.size(); ++i) {
    const bool last = i + 1 == components.size();
    const int step_flags = last ? flags : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    const int fd = openat(current, components[i].c_str(), step_flags);
    if (fd < 0) {
      return ErrnoFsFail("openat", what, Classify(current, components[i], errno));
    }
    common::UniqueFd next(fd);
    struct stat st;
    if (fstat(next.Get(), &st) != 0) return ErrnoFsFail("fstat", what, errno);
    if (st.st_dev != root.st_dev) return ErrnoFsFail("openat", what, EXDEV);
    if (!last && !S_ISDIR(st.st_mode)) return ErrnoFsFail("openat", what, ENOTDIR);
    held = std::move(next);
    current = held.Get();
  }
  return Finish(std::move(held), what);
}

}  // namespace

FsResult<Opened> OpenBeneath(int dir_fd, std::span<const std::string> components, int flags,
                             std::string_view what) {
  for (const std::string& name : components) {
    if (!IsValidComponent(name)) {
      return FsFail(FsErrc::kBadPath, std::string(what) + ": invalid path component");
    }
  }
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    return FsFail(FsErrc::kIo, std::string(what) + ": OpenBeneath does not create files");
  }
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (ActiveResolver() == Resolver::kWalk) return OpenWithWalk(dir_fd, components, flags, what);

  const std::string path = components.empty() ? std::string(".") : RelativePath(components);
  const long fd = Openat2(dir_fd, path.c_str(), flags);
  if (fd >= 0) return Finish(common::UniqueFd(static_cast<int>(fd)), what);
  int err = errno;
  if (err == ENOTDIR && (flags & O_DIRECTORY) != 0) err = ClassifyLast(dir_fd, path);
  if (err != ENOSYS || forced.load() == Resolver::kOpenat2) {
    return ErrnoFsFail("openat2", what, err);
  }
  openat2_missing.store(true);
  return OpenWithWalk(dir_fd, components, flags, what);
}

Resolver ActiveResolver() {
  const Resolver f = forced.load();
  if (f != Resolver::kAuto) return f;
  return openat2_missing.load() ? Resolver::kWalk : Resolver::kOpenat2;
}

void SetResolverForTesting(Resolver resolver) { forced.store(resolver); }

bool KernelHasOpenat2() {
  static const bool has = [] {
    const long fd = Openat2(AT_FDCWD, ".", O_PATH | O_CLOEXEC);
    if (fd >= 0) close(static_cast<int>(fd));
    return fd >= 0 || errno != ENOSYS;
  }();
  return has;
}

}  // namespace workspace
