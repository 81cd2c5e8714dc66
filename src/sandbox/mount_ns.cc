#include "sandbox/mount_ns.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/unique_fd.h"

namespace sandbox {
namespace {

namespace fs = std::filesystem;
using common::ErrnoFail;
using common::Result;

// Host /etc entries a Python kernel needs; nothing secret (no shadow, no gateway state).
constexpr const char* kEtcEntries[] = {
    "alternatives", "fonts",      "matplotlibrc", "ld.so.cache",     "ld.so.conf",
    "ld.so.conf.d", "localtime",  "timezone",     "nsswitch.conf",   "host.conf",
    "gai.conf",     "mime.types", "ssl",          "ca-certificates", "python3",
    "python3.11",   "python3.12", "python3.13",   "jupyter",         "debian_version",
    "os-release",   "protocols",  "services",     "magic",           "inputrc",
};

constexpr const char* kTopLevelLinks[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

// Paths under /proc a sandbox may read but never write.
constexpr const char* kProcReadOnly[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};
// Files under /proc hidden behind /dev/null: kernel memory and addresses, other users' keys
// and timers, and the host's boot command line (root device, kernel options). Docker's
// default masks plus cmdline, kallsyms and kmsg.
constexpr const char* kProcMasked[] = {"kcore",         "keys",        "timer_list", "timer_stats",
                                       "latency_stats", "sched_debug", "kallsyms",   "kmsg",
                                       "cmdline",       "config.gz"};
// Directories under /proc hidden behind an empty read-only tmpfs (host hardware).
constexpr const char* kProcMaskedDirs[] = {"acpi", "asound", "scsi"};

Result<void> Mount(const std::string& source, const std::string& target, const char* type,
                   unsigned long flags, const std::string& data = {}) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoFail("mount(" + target + ")");
  }
  return {};
}

// Remounts the bind mount at `target` with `flags` added to the ones it has. In a user
// namespace the flags a mount came with from the host are locked: a remount that would drop
// one (noexec, an atime mode) fails with EPERM, so they are carried over.
Result<void> RestrictBind(const std::string& target, unsigned long flags) {
  struct statvfs st {};
  if (::statvfs(target.c_str(), &st) != 0) return ErrnoFail("statvfs(" + target + ")");
  constexpr std::pair<unsigned long, unsigned long> kCarried[] = {
      {ST_RDONLY, MS_RDONLY},    {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},    {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME}};
  for (const auto& [has, keep] : kCarried) {
    if (st.f_flag & has) flags |= keep;
  }
  return Mount({}, target, nullptr, MS_BIND | MS_REMOUNT | flags);
}

// Bind `source` at `target` and make it read-only (a bind mount takes flags only on remount).
Result<void> BindReadOnly(const std::string& source, const std::string& target,
                          unsigned long extra = 0) {
  if (auto r = Mount(source, target, nullptr, MS_BIND | MS_REC); !r) return r;
  return RestrictBind(target, MS_RDONLY | MS_NOSUID | MS_NODEV | extra);
}

Result<void> MakeDir(const std::string& path, mode_t mode = 0755) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoFail("mkdir(" + path + ")");
  return {};
}

Result<void> Touch(const std::string& path) {
  common::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.Valid()) return ErrnoFail("open(" + path + ")");
  return {};
}

Result<void> WriteText(const std::string& path, const std::string& text) {
  common::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.Valid() ||
      ::write(fd.Get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return ErrnoFail("write(" + path + ")");
  }
  return {};
}

// Mirrors a host path into the new root: a symlink is copied, a directory or file bound
// read-only. Missing paths are skipped.
Result<void> Mirror(const std::string& host, const std::string& target) {
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0) return {};
  if (S_ISLNK(st.st_mode)) {
    const std::string link = fs::read_symlink(host).string();
    if (::symlink(link.c_str(), target.c_str()) != 0) return ErrnoFail("symlink(" + target + ")");
    return {};
  }
  if (S_ISDIR(st.st_mode)) {
    if (auto r = MakeDir(target); !r) return r;
  } else if (auto r = Touch(target); !r) {
    return r;
  }
  return BindReadOnly(host, target);
}

// `system` is the environment's root ("" for the host's own).
Result<void> BuildEtc(const std::string& root, const std::string& system, const InitSpec& spec) {
  const std::string etc = root + "/etc";
  if (auto r = MakeDir(etc); !r) return r;
  if (system.empty()) {
    // The host's /etc holds the host's secrets and configuration: only what a kernel needs.
    for (const char* name : kEtcEntries) {
      if (auto r = Mirror(std::string("/etc/") + name, etc + "/" + name); !r) return r;
    }
  } else {
    // An environment's /etc was made by its recipe: all of it, but for the files written below.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(system + "/etc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name == "passwd" || name == "group" || name == "shadow" || name == "gshadow" ||
          name == "hostname" || name == "hosts") {
        continue;
      }
      if (auto r = Mirror(entry.path().string(), etc + "/" + name); !r) return r;
    }
    if (ec) return common::Fail("cannot list " + system + "/etc: " + ec.message());
  }
  const std::string uid = std::to_string(spec.uid), gid = std::to_string(spec.gid);
  // Rootless, the kernel is the namespace's uid 0 (user_ns.h): then it is the only user.
  const std::string root_user = spec.uid == 0 ? "" : "root:x:0:0:root:/root:/usr/sbin/nologin\n";
  const std::string root_group = spec.gid == 0 ? "" : "root:x:0:\n";
  if (auto r = WriteText(etc + "/passwd", root_user + "sandbox:x:" + uid + ":" + gid +
                                              ":sandbox:" + kHomeDir + ":/bin/sh\n");
      !r) {
    return r;
  }
  if (auto r = WriteText(etc + "/group", root_group + "sandbox:x:" + gid + ":\n"); !r) return r;
  if (auto r = WriteText(etc + "/hostname", spec.hostname + "\n"); !r) return r;
  return WriteText(etc + "/hosts", "127.0.0.1 localhost " + spec.hostname + "\n::1 localhost\n");
}

// size= and nr_inodes= for a scratch tmpfs of `bytes` (one inode per 16 KiB, at least 1024).
std::string TmpfsLimits(std::uint64_t bytes) {
  return "size=" + std::to_string(bytes) +
         ",nr_inodes=" + std::to_string(std::max<std::uint64_t>(1024, bytes / 16384));
}

Result<void> BuildDev(const std::string& root, const Limits& limits) {
  const std::string dev = root + "/dev";
  if (auto r = MakeDir(dev); !r) return r;
  if (auto r = Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"); !r)
    return r;
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string target = dev + "/" + node;
    if (auto r = Touch(target); !r) return r;
    if (auto r = Mount(std::string("/dev/") + node, target, nullptr, MS_BIND); !r) return r;
  }
  if (auto r = MakeDir(dev + "/pts"); !r) return r;
  // A private instance with a cap of its own: kernel.pty.max is shared by the whole host.
  if (auto r = Mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=0620,max=" + std::to_string(limits.ptys));
      !r) {
    return r;
  }
  if (auto r = MakeDir(dev + "/shm", 01777); !r) return r;
  if (auto r = Mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "mode=1777," + TmpfsLimits(limits.tmp_bytes));
      !r) {
    return r;
  }
  for (const auto& [name, target] :
       {std::pair{"ptmx", "pts/ptmx"}, std::pair{"fd", "/proc/self/fd"},
        std::pair{"stdin", "/proc/self/fd/0"}, std::pair{"stdout", "/proc/self/fd/1"},
        std::pair{"stderr", "/proc/self/fd/2"}}) {
    if (::symlink(target, (dev + "/" + name).c_str()) != 0)
      return ErrnoFail("symlink(/dev/" + std::string(name) + ")");
  }
  return {};
}

Result<void> BuildProc(const std::string& root) {
  const std::string proc = root + "/proc";
  if (auto r = MakeDir(proc); !r) return r;
  // A fresh procfs of the new pid namespace: only the sandbox's processes are visible.
  if (auto r = Mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC); !r) return r;
  for (const char* name : kProcReadOnly) {
    const std::string path = proc + "/" + name;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (auto r = BindReadOnly(path, path, MS_NOEXEC); !r) return r;
  }
  for (const char* name : kProcMasked) {
    const std::string path = proc + "/" + name;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (auto r = Mount(root + "/dev/null", path, nullptr, MS_BIND); !r) return r;
  }
  for (const char* name : kProcMaskedDirs) {
    const std::string path = proc + "/" + name;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (auto r = Mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=4k,nr_inodes=2");
        !r) {
      return r;
    }
  }
  return {};
}

Result<void> BuildScratch(const std::string& root, const InitSpec& spec) {
  const auto& limits = spec.limits;
  if (auto r = MakeDir(root + "/tmp", 01777); !r) return r;
  if (auto r = Mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                     "mode=1777," + TmpfsLimits(limits.tmp_bytes));
      !r) {
    return r;
  }
  const std::string home = root + kHomeDir;
  if (auto r = MakeDir(root + "/home"); !r) return r;
  if (auto r = MakeDir(home, 0700); !r) return r;
  const std::string home_opts = "mode=0700,uid=" + std::to_string(spec.uid) +
                                ",gid=" + std::to_string(spec.gid) + "," +
                                TmpfsLimits(limits.home_bytes);
  if (auto r = Mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV, home_opts); !r) return r;
  // The worker directory (connection file, ipc sockets) is the only path shared with the host.
  if (auto r = MakeDir(root + "/run"); !r) return r;
  const std::string kernel = root + kKernelDir;
  if (auto r = MakeDir(kernel, 0700); !r) return r;
  // A detached mount the launcher's child made: init may not be able to look the gateway's
  // runtime dir up.
  if (::move_mount(spec.worker_fd, "", AT_FDCWD, kernel.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return ErrnoFail("move_mount(" + kernel + ")");
  ::close(spec.worker_fd);
  return RestrictBind(kernel, MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

}  // namespace

Result<void> BuildRoot(const InitSpec& spec) {
  // Nothing we mount may propagate back to the host.
  if (auto r = Mount({}, "/", nullptr, MS_REC | MS_PRIVATE); !r) return r;
  const std::string root = kNewRootDir;
  if (auto r = Mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m"); !r)
    return r;
  // The environment's system (reached through its descriptor), or the host's: its /usr, the
  // top-level links into it (or directories, on a system without merged /usr) and a few /etc
  // entries.
  const std::string system =
      spec.system_fd >= 0 ? "/proc/self/fd/" + std::to_string(spec.system_fd) : "";
  if (auto r = MakeDir(root + "/usr"); !r) return r;
  if (auto r = BindReadOnly(system + "/usr", root + "/usr"); !r) return r;
  for (const char* name : kTopLevelLinks) {
    if (auto r = Mirror(system + "/" + name, root + "/" + name); !r) return r;
  }
  if (auto r = BuildEtc(root, system, spec); !r) return r;
  if (spec.system_fd >= 0) ::close(spec.system_fd);
  if (auto r = BuildDev(root, spec.limits); !r) return r;
  if (auto r = BuildProc(root); !r) return r;
  if (auto r = BuildScratch(root, spec); !r) return r;
  for (const char* dir : {"/root", "/var", "/var/tmp", "/mnt", kWorkspaceDir}) {
    if (auto r = MakeDir(root + dir); !r) return r;
  }

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no path
  // back to the host's filesystem.
  if (::chdir(root.c_str()) != 0) return ErrnoFail("chdir(new root)");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return ErrnoFail("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return ErrnoFail("umount2(old root)");
  if (::chdir("/") != 0) return ErrnoFail("chdir(/)");
  return Mount({}, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
               "mode=0755,size=1m");
}

Result<void> SealKernelDir() { return RestrictBind(kKernelDir, MS_RDONLY); }

}  // namespace sandbox
