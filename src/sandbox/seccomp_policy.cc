#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <iterator>
#include <string_view>

namespace sandbox {
namespace {

// Plain calls, allowed with any arguments. Docker 20.10's default list minus ptrace, the
// io_uring and aio calls, mknod, adjtimex, fanotify_mark and the like (docs/security.md has
// the rule-by-rule comparison).
constexpr const char* kAllowed[] = {
    "accept",
    "accept4",
    "access",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "futex_waitv",
    "futimesat",
    "get_robust_list",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "kill",
    "lchown",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "madvise",
    "membarrier",
    "memfd_create",
    "mincore",
    "mkdir",
    "mkdirat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "pselect6",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "sendfile",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_tid_address",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    "times",
    "tkill",
    "truncate",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "write",
    "writev",
};

// Answered with ENOSYS so that libc falls back to the older calls the filter can inspect.
constexpr const char* kNotImplemented[] = {
    "clone3", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
};

// Docker's clone mask (2114060288) plus CLONE_NEWTIME.
constexpr std::uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNET | 0x80 /* CLONE_NEWTIME */;

// personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query.
constexpr std::uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// Address families a kernel may open. Network namespaces cover these; AF_VSOCK (the
// hypervisor's port space), AF_PACKET, AF_ALG, AF_BLUETOOTH and the rest are either not
// namespaced or rarely audited kernel code, and nothing in a Python kernel needs them.
constexpr std::uint64_t kSocketFamilies[] = {AF_UNIX, AF_INET, AF_INET6};
// Families below this bound are refused one by one; anything at or above it at once (also
// values with high bits set, which the kernel would truncate to an int).
constexpr std::uint64_t kFamilyBound = 64;
static_assert(AF_MAX <= kFamilyBound);

bool IsAllowedFamily(std::uint64_t family) {
  return std::find(std::begin(kSocketFamilies), std::end(kSocketFamilies), family) !=
         std::end(kSocketFamilies);
}

// socket() and socketpair(): the families above; socket() also AF_NETLINK with
// NETLINK_ROUTE, which glibc's getaddrinfo (AI_ADDRCONFIG) and if_nameindex use and which
// sees only the sandbox's own network namespace. Everything else fails with EAFNOSUPPORT.
// (A rule without argument checks would override the conditional ones in libseccomp, so the
// refusals are spelled out.)
void AddSocketRules(std::vector<SeccompRule>& rules) {
  for (const char* call : {"socket", "socketpair"}) {
    const bool netlink_route = std::string_view(call) == "socket";
    for (const std::uint64_t family : kSocketFamilies)
      rules.push_back({call, 0, {{0, ArgOp::kEq, family, 0}}});
    for (std::uint64_t family = 0; family < kFamilyBound; ++family) {
      if (IsAllowedFamily(family) || (netlink_route && family == AF_NETLINK)) continue;
      rules.push_back({call, EAFNOSUPPORT, {{0, ArgOp::kEq, family, 0}}});
    }
    rules.push_back({call, EAFNOSUPPORT, {{0, ArgOp::kGe, kFamilyBound, 0}}});
    if (netlink_route) {
      rules.push_back(
          {call, 0, {{0, ArgOp::kEq, AF_NETLINK, 0}, {2, ArgOp::kEq, NETLINK_ROUTE, 0}}});
      rules.push_back({call,
                       EAFNOSUPPORT,
                       {{0, ArgOp::kEq, AF_NETLINK, 0}, {2, ArgOp::kNe, NETLINK_ROUTE, 0}}});
    }
  }
}

SeccompPolicy BuildPolicy() {
  SeccompPolicy policy;
  policy.allowed.assign(std::begin(kAllowed), std::end(kAllowed));
  for (const char* name : kNotImplemented) policy.rules.push_back({name, ENOSYS, {}});
  policy.rules.push_back({"clone", 0, {{0, ArgOp::kMaskedEq, kNamespaceFlags, 0}}});
  for (const std::uint64_t value : kPersonalities)
    policy.rules.push_back({"personality", 0, {{0, ArgOp::kEq, value, 0}}});
  AddSocketRules(policy.rules);
  return policy;
}

}  // namespace

const SeccompPolicy& Policy() {
  static const SeccompPolicy policy = BuildPolicy();
  return policy;
}

}  // namespace sandbox
