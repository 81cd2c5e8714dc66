// `sandbox-container-init <command> [args...]`: the docker backend's pid 1, in place of
// docker-init. It does what docker-init does (reaps orphans, forwards the usual signals to
// the kernel, exits with the kernel's exit code, or 128+n when signal n killed it), and one
// thing docker-init does not: it makes itself non-dumpable before it starts the kernel, whose
// stdin, stdout and stderr it points at /dev/null.
//
// Why: the container has no capabilities, so its init runs as the kernel's own uid, and the
// kernel could open a dumpable init's /proc/1/mem, environ and root (ptrace_may_access lets
// the same uid in). A non-dumpable process is out of reach of any caller without
// CAP_SYS_PTRACE, and its /proc files belong to root. execve makes the kernel dumpable again,
// which exposes only the kernel to itself.
//
// Single-threaded; a static binary with no dependency on the image, bind-mounted read-only
// from the host (see docker_launcher.h). Plain libc only: no allocation, no exceptions.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t g_kernel = 0;

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// pid 1 gets no default signal actions: pass what the engine sends on to the kernel.
void Forward(int sig) {
  if (g_kernel > 0) ::kill(g_kernel, sig);
}

void Say(const char* text, int fd = 2) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  (void)!::write(fd, text, n);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Say("usage: sandbox-container-init <command> [args...]\n");
    return 2;
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    Say("sandbox-container-init: prctl(PR_SET_DUMPABLE) failed\n");
    return 126;
  }
  // Handlers go in before the fork, with every signal blocked, so none is lost or delivered
  // to the child's inherited handler.
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  struct sigaction forward {};
  forward.sa_handler = Forward;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  for (const int sig : kForwarded) ::sigaction(sig, &forward, nullptr);

  const pid_t kernel = ::fork();
  if (kernel < 0) {
    Say("sandbox-container-init: fork failed\n");
    return 126;
  }
  if (kernel == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (const int sig : kForwarded) ::sigaction(sig, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    // The kernel's stdio is not a channel to the host (as in the namespaces backend): what it
    // writes to fds 1 and 2 reaches the user through ipykernel's capture of them, and would
    // otherwise also be echoed into the engine's log, as fast as the engine copies it (a
    // cell writing megabytes then ran for a minute, its tail landing in the next cell).
    const int log = ::fcntl(2, F_DUPFD_CLOEXEC, 3);  // the engine's log, for a failed exec
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull < 0) {
      Say("sandbox-container-init: open(/dev/null) failed\n");
      _exit(126);
    }
    for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
    if (devnull > 2) ::close(devnull);
    ::execvp(argv[1], argv + 1);
    Say("sandbox-container-init: exec failed\n", log);
    _exit(127);
  }
  g_kernel = kernel;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);

  // Reap everything; leave with the kernel (the container ends with its pid 1).
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) return 126;  // no children left: cannot happen before the kernel exits
    if (pid != kernel) continue;
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
  }
}
