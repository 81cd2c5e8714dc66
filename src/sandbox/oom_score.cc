#include "sandbox/oom_score.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"

namespace sandbox {

common::Result<void> MakeFirstOomVictim(pid_t pid) {
  const std::string path =
      "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/oom_score_adj";
  common::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.Valid()) return common::ErrnoFail("open(" + path + ")");
  const std::string value = std::to_string(kKernelOomScoreAdj);
  if (::write(fd.Get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return common::ErrnoFail("write(" + path + ")");
  return {};
}

bool HoldsSysResource() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_RESOURCE / 32].effective >> (CAP_SYS_RESOURCE % 32)) & 1;
}

}  // namespace sandbox
