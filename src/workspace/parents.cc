#include "workspace/parents.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "workspace/beneath.h"
#include "workspace/client_path.h"

namespace workspace {
namespace {

AfterMkdirHook after_mkdir_hook = nullptr;

FsResult<void> Adopt(int fd, mode_t mode, const std::optional<Ownership>& owner,
                     const std::string& what) {
  if (owner && fchown(fd, owner->uid, owner->gid) != 0) return ErrnoFsFail("fchown", what, errno);
  if (fchmod(fd, mode) != 0) return ErrnoFsFail("fchmod", what, errno);
  return {};
}

}  // namespace

FsResult<common::UniqueFd> MakeParents(int root_fd, std::span<const std::string> components,
                                       mode_t dir_mode, const std::optional<Ownership>& owner) {
  auto current = OpenBeneath(root_fd, {}, O_PATH | O_DIRECTORY, MessagePath({}));
  if (!current) return std::unexpected(std::move(current.error()));
  for (std::size_t i = 0; i < components.size(); ++i) {
    const std::string what = MessagePath(components.first(i + 1));
    const std::span<const std::string> name = components.subspan(i, 1);
    auto next = OpenBeneath(current->fd.Get(), name, O_PATH | O_DIRECTORY, what);
    if (!next && next.error().code == FsErrc::kNotFound) {
      const bool created = mkdirat(current->fd.Get(), name[0].c_str(), dir_mode) == 0;
      if (!created && errno != EEXIST) return ErrnoFsFail("mkdirat", what, errno);
      if (after_mkdir_hook != nullptr) after_mkdir_hook(current->fd.Get(), name[0].c_str());
      const int flags = created ? O_RDONLY | O_DIRECTORY : O_PATH | O_DIRECTORY;
      next = OpenBeneath(current->fd.Get(), name, flags, what);
      if (next && created) {
        if (auto adopted = Adopt(next->fd.Get(), dir_mode, owner, what); !adopted) {
          return std::unexpected(std::move(adopted.error()));
        }
      }
    }
    if (!next) return std::unexpected(std::move(next.error()));
    current = std::move(next);
  }
  return std::move(current->fd);
}

void SetAfterMkdirHookForTesting(AfterMkdirHook hook) { after_mkdir_hook = hook; }

}  // namespace workspace
