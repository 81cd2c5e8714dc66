// The sandbox's init: `code-interpreter __sandbox-init <fd>`, exec'd by the namespaces
// launcher's child as pid 1 of its new pid namespace, already inside the worker's cgroups.
// It builds the filesystem, brings up loopback, starts the kernel as an unprivileged,
// seccomp-filtered process, forwards signals to it, reaps every orphan, and reports the kernel's
// exit status to the gateway over the handshake socket before exiting (which ends the whole
// namespace).
//
// Messages on the socket (SOCK_SEQPACKET): gateway -> init: the InitSpec JSON, later "R"
// (the kernel is ready); init -> gateway: "K" (the kernel was started) or "E<reason>"
// (setup failed), "r" (answering "R": /run/kernel is read-only now), at the end "X<status>".
//
// Init is the root of the sandbox's user namespace: all its capabilities are the namespace's
// only, over the namespaces it owns. It is not dumpable, so the kernel (which under rootless
// shares its uid) can neither ptrace it nor open its /proc/1/mem.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sandbox/init_spec.h"
#include "sandbox/mount_ns.h"
#include "sandbox/net_ns.h"
#include "sandbox/oom_score.h"
#include "sandbox/privileges.h"
#include "sandbox/process_launcher.h"
#include "sandbox/seccomp.h"

namespace sandbox {
namespace {

volatile sig_atomic_t g_kernel_pid = 0;

// pid 1 gets no default signal actions: pass what the host sends on to the kernel.
void Forward(int sig) {
  if (g_kernel_pid > 0) ::kill(g_kernel_pid, sig);
}

[[noreturn]] void Fail(int fd, const std::string& reason) {
  const std::string message = "E" + reason;
  ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
  _exit(1);
}

// In the kernel's process: drop everything, then exec. Errors end the process with a code
// the gateway logs as the kernel's exit status.
[[noreturn]] void ExecKernel(InitSpec& spec) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // init blocks SIGCHLD; the mask survives exec
  ::setsid();
  const int devnull = ::open("/dev/null", O_RDWR);
  // The kernel's output goes over its sockets; its stdio is not a channel to the host.
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }
  if (::chdir(kHomeDir) != 0) _exit(120);
  if (!ApplyRlimits(spec.limits)) _exit(121);
  if (!MakeFirstOomVictim()) _exit(124);
  if (!DropPrivileges(spec.uid, spec.gid)) _exit(122);
  if (!InstallSeccomp()) _exit(123);
  std::vector<char*> argv = ExecStrings(spec.argv);
  std::vector<char*> envp = ExecStrings(spec.env);
  // The data limit last, just before the exec: it is meant for the kernel, and this process
  // (init's code, possibly built with a sanitizer that maps large areas) must not meet it.
  if (spec.limits.data_bytes > 0) {
    const rlimit data{spec.limits.data_bytes,
                      std::max(spec.limits.data_bytes, spec.limits.data_max_bytes)};
    if (::setrlimit(RLIMIT_DATA, &data) != 0) _exit(125);
  }
  ::execve(argv[0], argv.data(), envp.data());
  _exit(127);
}

}  // namespace

int RunSandboxInit(int fd) {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::string text(1 << 20, '\0');
  const ssize_t n = ::recv(fd, text.data(), text.size(), 0);
  if (n <= 0) _exit(1);
  text.resize(static_cast<std::size_t>(n));
  InitSpec spec;
  try {
    spec = nlohmann::json::parse(text).get<InitSpec>();
  } catch (const std::exception& e) {
    Fail(fd, std::string("bad spec: ") + e.what());
  }
  // A cgroup namespace rooted at the worker's own group (we were moved there before exec).
  if (::unshare(CLONE_NEWCGROUP) != 0) Fail(fd, "unshare(CLONE_NEWCGROUP) failed");
  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    Fail(fd, "sethostname failed");
  if (auto built = BuildRoot(spec); !built) Fail(fd, built.error().message);
  if (auto up = BringUpLoopback(); !up) Fail(fd, up.error().message);

  // SIGCHLD through a descriptor, so one poll() waits for orphans and for the gateway.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  const int children = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (children < 0) Fail(fd, "signalfd failed");

  const pid_t kernel = ::fork();
  if (kernel < 0) Fail(fd, "fork failed");
  if (kernel == 0) ExecKernel(spec);
  g_kernel_pid = kernel;
  struct sigaction forward {};
  forward.sa_handler = Forward;
  sigemptyset(&forward.sa_mask);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &forward, nullptr);
  ::send(fd, "K", 1, MSG_NOSIGNAL);

  // pid 1: reap orphans until the kernel itself exits, then report and end the namespace.
  pollfd waits[2] = {{children, POLLIN, 0}, {fd, POLLIN, 0}};
  while (true) {
    if (::poll(waits, 2, -1) < 0) continue;  // EINTR: a forwarded signal
    if (waits[1].revents != 0) {
      char request = 0;
      const ssize_t n = ::recv(fd, &request, 1, MSG_DONTWAIT);
      if (n == 1 && request == 'R') {
        const auto sealed = SealKernelDir();
        const std::string reply = sealed ? "r" : "E" + sealed.error().message;
        ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        waits[1].fd = -1;  // the gateway is gone; the parent-death signal follows
      }
    }
    signalfd_siginfo info;
    while (::read(children, &info, sizeof info) > 0) {
    }
    while (true) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid == 0 || (pid < 0 && errno == EINTR)) break;
      if (pid < 0 || pid == kernel) {
        const std::string message = "X" + std::to_string(pid == kernel ? status : -1);
        ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
        _exit(0);
      }
    }
  }
}

}  // namespace sandbox
