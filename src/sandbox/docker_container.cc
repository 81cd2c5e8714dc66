#include "sandbox/docker_container.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <type_traits>

#include "sandbox/container_init.h"
#include "sandbox/init_spec.h"
#include "sandbox/oom_score.h"
#include "sandbox/seccomp.h"

namespace sandbox {
namespace docker {

namespace {

std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// As in the namespaces backend (mount_ns.cc): one inode per 16 KiB, at least 1024. The
// engine's tmpfs default is half the host's RAM pages.
std::string Inodes(std::uint64_t bytes) {
  return ",nr_inodes=" + std::to_string(std::max<std::uint64_t>(1024, bytes / 16384));
}

std::string TmpfsOptions(std::uint64_t bytes, unsigned uid, const char* mode) {
  // Docker does not honour mode= alone on every engine; uid=/gid= make the mount ours.
  return "rw,nosuid,nodev,size=" + std::to_string(bytes) + Inodes(bytes) +
         ",uid=" + std::to_string(uid) + ",gid=" + std::to_string(uid) + ",mode=" + mode;
}

// /dev/shm as a tmpfs of --tmp-mb with an inode cap (ShmSize would leave inodes unlimited).
std::string ShmOptions(std::uint64_t bytes) {
  return "rw,nosuid,nodev,noexec,mode=1777,size=" + std::to_string(bytes) + Inodes(bytes);
}

// Docker's default masked paths (20.10), plus what the namespaces backend also hides: the
// host's boot command line, kernel symbols and log. Setting MaskedPaths replaces the default.
const char* const kMaskedPaths[] = {
    "/proc/asound",        "/proc/acpi",       "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",          "/sys/firmware",    "/proc/cmdline",     "/proc/kallsyms",
    "/proc/kmsg",          "/proc/config.gz",
};

// A private devpts for /dev/pts with a cap of its own (the engine's has none, and
// kernel.pty.max is host-wide): an anonymous volume of the local driver, which mounts a
// new devpts instance and is removed with the container (DELETE ...?v=true).
nlohmann::json DevptsMount(std::uint64_t ptys) {
  return {{"Type", "volume"},
          {"Target", "/dev/pts"},
          {"VolumeOptions",
           {{"DriverConfig",
             {{"Name", "local"},
              {"Options",
               {{"type", "devpts"},
                {"device", "devpts"},
                {"o", "newinstance,ptmxmode=0666,mode=0620,max=" + std::to_string(ptys)}}}}}}}};
}

}  // namespace

std::string InstanceFilter(const std::string& instance) {
  const nlohmann::json filters = {{"label",
                                   {std::string(kManagedLabel) + "=" + kManagedValue,
                                    std::string(kInstanceLabel) + "=" + instance}}};
  return PercentEncode(filters.dump());
}

nlohmann::json CreateBody(const DockerOptions& options, const WorkerSpec& spec,
                          const std::vector<std::string>& argv, unsigned uid,
                          const std::string& init) {
  const Limits& limits = options.limits;
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                  "LANG=C.UTF-8",
                                  std::string("HOME=") + kHomeDir,
                                  "PYTHONDONTWRITEBYTECODE=1",
                                  "PYDEVD_DISABLE_FILE_VALIDATION=1",
                                  std::string("CODE_INTERPRETER_WORKSPACE=") + kWorkspaceDir};
  for (const auto& [key, value] : spec.env) env.push_back(key + "=" + value);
  const auto memory = static_cast<std::int64_t>(limits.memory_bytes);
  const auto nofile = static_cast<std::int64_t>(limits.open_files);
  const auto fsize = static_cast<std::int64_t>(limits.file_size_bytes);
  // 0 (no data limit) is "unlimited" for the engine.
  const auto data = limits.data_bytes > 0 ? static_cast<std::int64_t>(limits.data_bytes) : -1;
  const auto data_max = limits.data_bytes == 0 ? -1
                        : limits.data_max_bytes > limits.data_bytes
                            ? static_cast<std::int64_t>(limits.data_max_bytes)
                            : data;
  nlohmann::json host = {
      {"NetworkMode", "none"},
      {"ReadonlyRootfs", true},
      {"Tmpfs",
       {{"/tmp", TmpfsOptions(limits.tmp_bytes, uid, "1777")},
        {kHomeDir, TmpfsOptions(limits.home_bytes, uid, "700")},
        {"/dev/shm", ShmOptions(limits.tmp_bytes)},
        // The mount point of the session's workspace, attached over it when the container is
        // handed to a session (the root is read-only, and the image need not have one).
        {kWorkspaceDir, "ro,nosuid,nodev,noexec,size=4k,nr_inodes=2"}}},
      {"Binds",
       {spec.dir.string() + ":" + kKernelDir + ":rw", init + ":" + kContainerInitPath + ":ro"}},
      {"Mounts", {DevptsMount(limits.ptys)}},
      {"MaskedPaths", kMaskedPaths},
      {"Memory", memory},
      {"MemorySwap", memory},  // swap equal to memory: no swap at all
      {"PidsLimit", static_cast<std::int64_t>(limits.pids)},
      {"NanoCpus", static_cast<std::int64_t>(limits.cpus * 1e9)},
      {"CapDrop", {"ALL"}},
      // Our own allowlist (the namespaces backend's), not the engine's default profile: older
      // engines allow ptrace (of the container's init, which runs as the kernel's uid) and
      // io_uring.
      {"SecurityOpt", {"no-new-privileges", "seccomp=" + DockerSeccompProfile()}},
      {"CgroupnsMode", "private"},  // /proc/self/cgroup shows "/", not the host's path
      // Our init (Entrypoint), not docker-init: the kernel's uid could read and write a
      // dumpable init's memory.
      {"Init", false},
      {"IpcMode", "private"},
      {"OomScoreAdj", kKernelOomScoreAdj},  // written by runc with privileges: a floor too
      {"Ulimits",
       {{{"Name", "core"}, {"Soft", 0}, {"Hard", 0}},
        {{"Name", "nofile"}, {"Soft", nofile}, {"Hard", nofile}},
        {{"Name", "fsize"}, {"Soft", fsize}, {"Hard", fsize}},
        {{"Name", "data"}, {"Soft", data}, {"Hard", data_max}}}},
      {"RestartPolicy", {{"Name", "no"}}},
      {"LogConfig", {{"Type", "json-file"}, {"Config", {{"max-size", "1m"}, {"max-file", "1"}}}}},
  };
  return {
      {"Image", spec.environment.image.empty() ? options.image : spec.environment.image},
      {"Cmd", argv},
      {"Entrypoint", {kContainerInitPath}},
      {"Env", env},
      {"User", std::to_string(uid) + ":" + std::to_string(uid)},
      {"WorkingDir", kHomeDir},
      {"Hostname", "sandbox"},
      {"NetworkDisabled", true},
      {"AttachStdin", false},
      {"AttachStdout", false},
      {"AttachStderr", false},
      {"Tty", false},
      {"Labels",
       {{kManagedLabel, kManagedValue},
        {kInstanceLabel, options.instance},
        {"org.code-interpreter.worker", spec.name}}},
      {"HostConfig", host},
  };
}

nlohmann::json UpdateBody(const ResourceLimits& limits) {
  const auto memory = static_cast<std::int64_t>(limits.memory_bytes);
  return {{"Memory", memory},
          {"MemorySwap", memory},
          {"NanoCpus", static_cast<std::int64_t>(limits.cpus * 1e9)},
          {"PidsLimit", static_cast<std::int64_t>(limits.pids)}};
}

common::Result<ContainerState> ParseState(const std::string& inspect_body) {
  const auto json = nlohmann::json::parse(inspect_body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("State") || !json["State"].is_object())
    return common::Fail("docker: container inspect answer has no State");
  const auto& state = json["State"];
  // Fields of an unexpected type read as absent: the engine's answer is not trusted blindly.
  const auto field = [&state](const char* name, auto fallback) {
    using T = decltype(fallback);
    const auto it = state.find(name);
    if (it == state.end()) return fallback;
    if constexpr (std::is_same_v<T, bool>) {
      return it->is_boolean() ? it->template get<bool>() : fallback;
    } else if constexpr (std::is_same_v<T, int>) {
      return it->is_number_integer() && *it >= INT_MIN && *it <= INT_MAX ? it->template get<int>()
                                                                         : fallback;
    } else {
      return it->is_string() ? it->template get<std::string>() : fallback;
    }
  };
  ContainerState out;
  out.running = field("Running", false);
  out.pid = field("Pid", 0);
  out.oom_killed = field("OOMKilled", false);
  out.exit_code = field("ExitCode", 0);
  out.error = field("Error", std::string());
  return out;
}

common::Result<std::vector<std::string>> ParseContainerIds(const std::string& list_body) {
  const auto json = nlohmann::json::parse(list_body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) return common::Fail("docker: container list is not an array");
  std::vector<std::string> ids;
  for (const auto& c : json) {
    if (c.is_object() && c.contains("Id") && c["Id"].is_string())
      ids.push_back(c["Id"].get<std::string>());
  }
  return ids;
}

int WaitStatusFromExitCode(int exit_code) {
  if (exit_code > 128 && exit_code < 128 + 65) return exit_code - 128;  // killed by a signal
  return (exit_code & 0xff) << 8;
}

}  // namespace docker

}  // namespace sandbox
