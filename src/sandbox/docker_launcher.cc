#include "sandbox/docker_launcher.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include "common/defer.h"
#include "common/unique_fd.h"
#include "jupyter/connection.h"
#include "sandbox/container_init.h"
#include "sandbox/init_spec.h"
#include "sandbox/mount_attach.h"
#include "sandbox/oom_score.h"
#include "sandbox/process_launcher.h"
#include "sandbox/seccomp.h"
#include "sandbox/worker_dir.h"
#include "workspace/give_tree.h"

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
        {{"Name", "data"}, {"Soft", data}, {"Hard", data}}}},
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

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Container final : public Sandbox {
 public:
  Container(std::shared_ptr<docker::Client> client, std::string id, common::UniqueFd pidfd,
            std::string worker_dir, unsigned uid, std::function<void()> release_uid,
            UsageReader usage)
      : usage_(std::move(usage)),
        client_(std::move(client)),
        id_(std::move(id)),
        pidfd_(std::move(pidfd)),
        worker_dir_(std::move(worker_dir)),
        uid_(uid),
        release_uid_(std::move(release_uid)) {}
  ~Container() override { Kill(); }

  int ExitFd() const override { return pidfd_.Get(); }

  // As in the namespaces backend: once the kernel has bound its sockets, the worker
  // directory goes back to root, so user code cannot store anything on the host through it.
  void OnKernelReady() override {
    if (!SealWorkerDir(worker_dir_)) Kill();
  }

  void Kill() override {
    std::lock_guard lock(mu_);
    if (killed_) return;
    killed_ = true;
    // force=true kills and removes in one call; v=true drops anonymous volumes (tmpfs only).
    auto removed =
        client_->Expect("remove container", "DELETE", "/containers/" + id_ + "?force=true&v=true",
                        std::nullopt, {404}, 30s);
    if (!removed) {
      // The container may still run: its uid stays taken until the gateway restarts.
      spdlog::error("{} (container {} is left to the next start's sweep)", removed.error().message,
                    Short());
      return;
    }
    release_uid_();
  }

  std::optional<int> ExitStatus() override {
    std::lock_guard lock(mu_);
    if (status_) return status_;
    pollfd p{pidfd_.Get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return std::nullopt;  // still running
    Collect();
    return status_;
  }

  bool OutOfMemory() const override {
    std::lock_guard lock(mu_);
    return oom_;
  }

  // The groups the engine made for the container (found at start from its init's cgroups).
  std::optional<ResourceUsage> Usage() const override { return usage_.Read(); }
  void ResetPeakMemory() override { usage_.ResetPeak(); }

  // As in the namespaces backend: the files go to the kernel's uid, the tmpfs is moved over
  // the container's /sandbox from inside its mount namespace.
  common::Result<void> AttachWorkspace(HostWorkspace& workspace) override {
    const workspace::Ownership owner{uid_, uid_};
    auto given = workspace::GiveTree(workspace.RootFd(), owner);
    if (!given)
      return common::Fail("giving the workspace to " + Describe() + ": " + given.error().message);
    workspace.SetOwner(owner);
    return AttachMountInto(pidfd_.Get(), workspace.Path().string(), kWorkspaceDir);
  }

  std::string Describe() const override {
    return "container " + Short() + ", uid " + std::to_string(uid_) + ", docker";
  }

 private:
  std::string Short() const { return id_.substr(0, 12); }

  // The container's init has exited: ask the engine how. Called with mu_ held.
  void Collect() {
    if (killed_) {
      status_ = SIGKILL;
      return;
    }
    // The engine may learn of the exit a moment after the pidfd: wait for it, briefly.
    auto waited =
        client_->Expect("wait for container", "POST",
                        "/containers/" + id_ + "/wait?condition=not-running", std::nullopt, {}, 5s);
    auto inspected = client_->Expect("inspect container", "GET", "/containers/" + id_ + "/json");
    auto state = inspected
                     ? docker::ParseState(inspected->body)
                     : common::Result<docker::ContainerState>(std::unexpected(inspected.error()));
    if (!state) {
      spdlog::warn("container {} exited; its status is unknown: {}", Short(),
                   state.error().message);
      status_ = 255 << 8;
      return;
    }
    oom_ = state->oom_killed;
    status_ = docker::WaitStatusFromExitCode(state->exit_code);
  }

  const UsageReader usage_;
  std::shared_ptr<docker::Client> client_;
  std::string id_;
  common::UniqueFd pidfd_;
  std::string worker_dir_;
  unsigned uid_;
  std::function<void()> release_uid_;
  mutable std::mutex mu_;
  bool killed_ = false;        // guarded by mu_
  bool oom_ = false;           // guarded by mu_
  std::optional<int> status_;  // guarded by mu_
};

}  // namespace

DockerLauncher::DockerLauncher(DockerOptions options)
    : options_(std::move(options)),
      client_(std::make_shared<docker::Client>(options_.socket)),
      uids_(options_.instance) {
  if (options_.init_binary.empty()) options_.init_binary = DefaultContainerInit();
  for (const std::string& stale : HostWorkspace::SweepStale(options_.instance))
    spdlog::info("unmounted stale workspace {}", stale);
}

common::Result<void> DockerLauncher::Check(const std::vector<Environment>& environments) {
  auto version = client_->Ping();
  if (!version) return std::unexpected(version.error());
  spdlog::info("docker engine at {} (API {})", client_->SocketPath(), *version);
  for (const Environment& environment : environments) {
    const std::string& name = environment.image.empty() ? options_.image : environment.image;
    auto image = client_->Call("GET", "/images/" + name + "/json");
    if (!image) return std::unexpected(image.error());
    if (image->status == 404) {
      return common::Fail(
          "docker: the image " + name + " of environment \"" + environment.name +
          "\" does not exist (" +
          (environment.image.empty()
               ? std::string("build it with docker/worker/build-image.sh")
               : "import it with code-interpreter env build " + environment.name + " --docker") +
          ")");
    }
    if (image->status != 200) return std::unexpected(docker::EngineError("inspect image", *image));
    spdlog::info("environment \"{}\": image {}", environment.name, name);
  }
  return {};
}

common::Result<int> DockerLauncher::SweepStale() {
  auto list = client_->Expect(
      "list containers", "GET",
      "/containers/json?all=true&filters=" + docker::InstanceFilter(options_.instance));
  if (!list) return std::unexpected(list.error());
  auto ids = docker::ParseContainerIds(list->body);
  if (!ids) return std::unexpected(ids.error());
  for (const std::string& id : *ids) {
    auto removed =
        client_->Expect("remove stale container", "DELETE",
                        "/containers/" + id + "?force=true&v=true", std::nullopt, {404}, 30s);
    if (!removed) return std::unexpected(removed.error());
    spdlog::info("removed stale container {}", id.substr(0, 12));
  }
  std::lock_guard lock(mu_);
  swept_ = true;
  return static_cast<int>(ids->size());
}

void DockerLauncher::Shutdown() {
  // The pool has removed its own containers; what is left belongs to nobody.
  if (auto swept = SweepStale(); !swept) {
    spdlog::warn("{} (left to the next start's sweep)", swept.error().message);
  }
  // The init copied into the runtime dir is ours too: no container uses it any more, and
  // the runtime dir is removed after this.
  std::lock_guard lock(mu_);
  if (!init_.empty()) {
    std::error_code ec;
    std::filesystem::remove(init_, ec);
    init_.clear();
  }
}

common::Result<std::string> DockerLauncher::Create(const WorkerSpec& spec, const std::string& name,
                                                   const nlohmann::json& body) {
  for (int attempt = 0;; ++attempt) {
    auto created = client_->Call("POST", "/containers/create?name=" + name, body, 60s);
    if (!created) return std::unexpected(created.error());
    if (created->status == 201) {
      const auto json = nlohmann::json::parse(created->body, nullptr, false);
      if (!json.is_object() || !json.contains("Id") || !json["Id"].is_string())
        return common::Fail("docker: create container: answer has no Id");
      return json["Id"].get<std::string>();
    }
    // A container of that name is left over (an earlier run of this instance): replace it.
    if (created->status == 409 && attempt == 0) {
      spdlog::warn("worker {}: removing leftover container {}", spec.name, name);
      auto removed =
          client_->Expect("remove leftover container", "DELETE",
                          "/containers/" + name + "?force=true&v=true", std::nullopt, {404}, 30s);
      if (!removed) return std::unexpected(removed.error());
      continue;
    }
    return std::unexpected(docker::EngineError("create container", *created));
  }
}

common::Result<std::unique_ptr<Sandbox>> DockerLauncher::Launch(const WorkerSpec& spec) {
  bool swept;
  std::string init;
  {
    std::lock_guard lock(mu_);
    swept = swept_;
    if (init_.empty()) {
      auto installed = InstallContainerInit(options_.init_binary, spec.dir.parent_path().string());
      if (!installed) return std::unexpected(installed.error());
      init_ = *installed;
    }
    init = init_;
  }
  if (!swept) {
    auto stale = SweepStale();
    if (!stale) return std::unexpected(stale.error());
  }
  auto slot = uids_.Take();
  if (!slot)
    return common::Fail("no free worker uid: " + std::to_string(UidSlots::kSlots) + " in use");
  const unsigned uid = slot->kernel_uid;
  std::function<void()> release = slot->release;
  common::Defer undo_uid([&] { release(); });

  // The kernel creates its sockets in the worker directory and reads its own view of the
  // connection (socket paths under /run/kernel), as in the namespaces backend.
  auto inside = PrepareWorkerDir(spec, uid);
  if (!inside) return std::unexpected(inside.error());
  const std::string& inside_path = *inside;

  WorkerSpec in_image = spec;
  in_image.python = options_.python;
  const std::string name = "code-interpreter-" + options_.instance + "-" + spec.name;
  auto id =
      Create(spec, name,
             docker::CreateBody(options_, spec, KernelCommand(in_image, inside_path), uid, init));
  if (!id) return std::unexpected(id.error());
  common::Defer undo_container([&] {
    (void)client_->Call("DELETE", "/containers/" + *id + "?force=true&v=true", std::nullopt, 30s);
  });

  if (auto started = client_->Expect("start container", "POST", "/containers/" + *id + "/start",
                                     std::nullopt, {}, 60s);
      !started) {
    return std::unexpected(started.error());
  }
  auto inspected = client_->Expect("inspect container", "GET", "/containers/" + *id + "/json");
  if (!inspected) return std::unexpected(inspected.error());
  auto state = docker::ParseState(inspected->body);
  if (!state) return std::unexpected(state.error());
  if (!state->running || state->pid <= 0) {
    return common::Fail("docker: container exited at once (exit code " +
                        std::to_string(state->exit_code) +
                        (state->error.empty() ? "" : ", " + state->error) + ")");
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, state->pid, 0));
  if (pidfd < 0) {
    return common::ErrnoFail("pidfd_open(container init " + std::to_string(state->pid) +
                             "; the gateway must share the host's pid namespace)");
  }
  common::UniqueFd exit_fd(pidfd);
  // The pid could have been reused between inspect and pidfd_open: check it is still ours.
  auto again = client_->Expect("inspect container", "GET", "/containers/" + *id + "/json");
  if (!again) return std::unexpected(again.error());
  auto still = docker::ParseState(again->body);
  if (!still) return std::unexpected(still.error());
  if (!still->running || still->pid != state->pid)
    return common::Fail("docker: container exited during start (exit code " +
                        std::to_string(still->exit_code) + ")");

  undo_container.Cancel();
  undo_uid.Cancel();
  return std::make_unique<Container>(client_, *id, std::move(exit_fd), spec.dir.string(), uid,
                                     std::move(release), UsageReader::ForProcess(state->pid));
}

common::Result<std::shared_ptr<HostWorkspace>> DockerLauncher::CreateWorkspace(
    const std::filesystem::path& path) {
  return HostWorkspace::Create(path, /*tmpfs=*/true, options_.workspace_limits, options_.instance);
}

}  // namespace sandbox
