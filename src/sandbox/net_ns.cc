#include "sandbox/net_ns.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "common/unique_fd.h"

namespace sandbox {

common::Result<void> BringUpLoopback() {
  common::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.Valid()) return common::ErrnoFail("socket(AF_INET)");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd.Get(), SIOCGIFFLAGS, &request) != 0)
    return common::ErrnoFail("ioctl(SIOCGIFFLAGS, lo)");
  request.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(fd.Get(), SIOCSIFFLAGS, &request) != 0)
    return common::ErrnoFail("ioctl(SIOCSIFFLAGS, lo)");
  return {};
}

}  // namespace sandbox
