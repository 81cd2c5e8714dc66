#include "sandbox/mount_attach.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace sandbox {
namespace {

// The child's exit code: the step that failed and its errno (capped).
enum Step { kSetns = 1, kOpenTarget = 2, kMoveMount = 3 };
constexpr int kErrnoCap = 60;

[[noreturn]] void FailStep(Step step) {
  _exit(step * 64 + (errno < kErrnoCap ? errno : kErrnoCap));
}

const char* StepName(int step) {
  switch (step) {
    case kSetns:
      return "setns(mount namespace)";
    case kOpenTarget:
      return "open(target)";
    case kMoveMount:
      return "move_mount";
    default:
      return "attach";
  }
}

}  // namespace

common::Result<void> AttachMountInto(int pidfd, const std::string& source,
                                     const std::string& target) {
  common::UniqueFd tree(
      static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(),
                                 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW)));
  if (!tree.Valid()) return common::ErrnoFail("open_tree(" + source + ")");
  const int tree_fd = tree.Get();
  const char* target_path = target.c_str();
  const pid_t child = ::fork();
  if (child < 0) return common::ErrnoFail("fork");
  if (child == 0) {
    // Raw system calls only: the parent has threads.
    if (::syscall(SYS_setns, pidfd, CLONE_NEWNS) != 0) FailStep(kSetns);
    // setns put us at the namespace's root: `target` is the sandbox's path.
    const int at = static_cast<int>(::syscall(SYS_openat, AT_FDCWD, target_path,
                                              O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (at < 0) FailStep(kOpenTarget);
    if (::syscall(SYS_move_mount, tree_fd, "", at, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
      FailStep(kMoveMount);
    }
    _exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return common::ErrnoFail("waitpid(attach)");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (!WIFEXITED(status)) return common::Fail("attaching " + target + ": the helper was killed");
  const int code = WEXITSTATUS(status);
  return common::Fail(std::string("attaching ") + target + ": " + StepName(code / 64) +
                      " failed: " + std::strerror(code % 64));
}

}  // namespace sandbox
