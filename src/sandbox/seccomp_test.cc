// The seccomp filter as the kernel applies it: a forked child installs it and reports what
// a few calls return over a pipe (the filter then allows little more than that).
#include "sandbox/seccomp.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <vector>

namespace sandbox {
namespace {

// errno of each call after the filter is installed (0: it succeeded).
std::vector<int> ErrnosUnderFilter(const std::vector<std::function<long()>>& calls) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !InstallSeccomp()) _exit(1);
    for (const auto& call : calls) {
      errno = 0;
      const long r = call();
      const int err = r < 0 ? errno : 0;
      if (r >= 0) ::close(static_cast<int>(r));
      if (::write(pipe_fds[1], &err, sizeof err) != sizeof err) _exit(2);
    }
    _exit(0);
  }
  ::close(pipe_fds[1]);
  std::vector<int> errnos;
  int err = 0;
  while (::read(pipe_fds[0], &err, sizeof err) == sizeof err) errnos.push_back(err);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  return errnos;
}

long Socket(long family, long type, long protocol) {
  return ::syscall(SYS_socket, family, type, protocol);
}

TEST(SeccompTest, SocketFamilies) {
  const std::vector<int> errnos = ErrnosUnderFilter({
      [] { return Socket(AF_UNIX, SOCK_STREAM, 0); },
      [] { return Socket(AF_INET, SOCK_DGRAM, 0); },
      [] { return Socket(AF_INET6, SOCK_STREAM, 0); },
      [] { return Socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); },
      [] { return Socket(AF_VSOCK, SOCK_STREAM, 0); },
      [] { return Socket(AF_PACKET, SOCK_RAW, 0); },
      [] { return Socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT); },
      [] { return Socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); },
      [] { return Socket(AF_ALG, SOCK_SEQPACKET, 0); },
      [] { return Socket(0x100000000L | AF_UNIX, SOCK_STREAM, 0); },  // high bits: refused
      [] { return Socket(200, SOCK_STREAM, 0); },
      [] {
        int sv[2];
        const long r = ::syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
        if (r == 0) ::close(sv[1]);
        return r == 0 ? static_cast<long>(sv[0]) : r;
      },
      [] {
        int sv[2];
        return ::syscall(SYS_socketpair, AF_VSOCK, SOCK_STREAM, 0, sv);
      },
  });
  EXPECT_EQ(errnos,
            (std::vector<int>{0, 0, 0, 0, EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT,
                              EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT, 0, EAFNOSUPPORT}));
}

TEST(SeccompTest, HostWideCountersAndNumaPolicyAreRefused) {
  const std::vector<int> errnos = ErrnosUnderFilter({
      [] {
        unsigned long ctx = 0;
        return ::syscall(SYS_io_setup, 1, &ctx);
      },
      [] { return ::syscall(SYS_io_uring_setup, 1, nullptr); },
      [] { return ::syscall(SYS_set_mempolicy, 0, nullptr, 0); },
      [] { return ::syscall(SYS_getpid); },
  });
  EXPECT_EQ(errnos, (std::vector<int>{EPERM, EPERM, EPERM, 0}));
}

}  // namespace
}  // namespace sandbox
