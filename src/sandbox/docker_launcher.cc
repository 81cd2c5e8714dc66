#include "sandbox/docker_launcher.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/defer.h"
#include "common/unique_fd.h"
#include "jupyter/connection.h"
#include "sandbox/container_init.h"
#include "sandbox/docker_container.h"
#include "sandbox/init_spec.h"
#include "sandbox/mount_attach.h"
#include "sandbox/process_launcher.h"
#include "sandbox/worker_dir.h"
#include "workspace/give_tree.h"

namespace sandbox {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The whole of a small file (/etc/subuid, /proc/<pid>/uid_map); nullopt when unreadable.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The size of the range starting at `start` in a subordinate id file; 0 when it has none.
unsigned RangeCount(const char* path, unsigned start) {
  const auto text = ReadSmallFile(path);
  if (!text) return 0;
  return docker::SubordinateCount(*text, start).value_or(0);
}

// An id map on one line: its fields separated by single spaces, its lines by "; ".
std::string OneLine(const std::string& map) {
  std::istringstream lines(map);
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string joined;
    for (std::string field; fields >> field;) joined += (joined.empty() ? "" : " ") + field;
    if (!joined.empty()) out += (out.empty() ? "" : "; ") + joined;
  }
  return out;
}

// The container's init runs with the ids we meant: uid (and gid) `uid` inside is `host` on
// the host. Read from the kernel's own maps, so that an engine whose remapping changed since
// we asked (restarted with other options) fails the launch with a clear error, not as a
// kernel that never binds its sockets (they are in a directory of another uid).
common::Result<void> CheckIdMaps(int pid, unsigned uid, const docker::HostIds& host) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const auto uid_map = ReadSmallFile(proc + "/uid_map");
  const auto gid_map = ReadSmallFile(proc + "/gid_map");
  if (!uid_map || !gid_map) return common::Fail("docker: cannot read the id maps of " + proc);
  if (!docker::IdMapMaps(*uid_map, uid, host.uid) || !docker::IdMapMaps(*gid_map, uid, host.gid)) {
    return common::Fail("docker: the container's user namespace does not map uid " +
                        std::to_string(uid) + " to host uid " + std::to_string(host.uid) +
                        " and gid " + std::to_string(host.gid) + " (uid_map \"" +
                        OneLine(*uid_map) + "\"); did the engine's --userns-remap change?");
  }
  return {};
}

class Container final : public Sandbox {
 public:
  Container(std::shared_ptr<docker::Client> client, std::string id, common::UniqueFd pidfd,
            std::string worker_dir, unsigned uid, docker::HostIds host, bool data_limited,
            std::function<void()> release_uid, UsageReader usage)
      : usage_(std::move(usage)),
        client_(std::move(client)),
        id_(std::move(id)),
        pidfd_(std::move(pidfd)),
        worker_dir_(std::move(worker_dir)),
        uid_(uid),
        host_(host),
        data_limited_(data_limited),
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
  common::Result<void> AdjustLimits(const ResourceLimits& limits) override {
    auto updated = client_->Expect("update container", "POST", "/containers/" + id_ + "/update",
                                   docker::UpdateBody(limits));
    if (!updated) return std::unexpected(updated.error());
    return WriteKernelLimits(worker_dir_, KernelLimitsFor(limits, data_limited_));
  }

  std::optional<ResourceUsage> Usage() const override { return usage_.Read(); }
  void ResetPeakMemory() override { usage_.ResetPeak(); }

  // As in the namespaces backend: the files go to the kernel's host ids, the tmpfs is moved
  // over the container's /sandbox from inside its mount namespace.
  common::Result<void> AttachWorkspace(HostWorkspace& workspace) override {
    const workspace::Ownership owner{host_.uid, host_.gid};
    auto given = workspace::GiveTree(workspace.RootFd(), owner);
    if (!given)
      return common::Fail("giving the workspace to " + Describe() + ": " + given.error().message);
    workspace.SetOwner(owner);
    return AttachMountInto(pidfd_.Get(), workspace.Path().string(), kWorkspaceDir);
  }

  std::string Describe() const override {
    return "container " + Short() + ", uid " + std::to_string(uid_) +
           (host_.uid == uid_ ? "" : " (host uid " + std::to_string(host_.uid) + ")") + ", docker";
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
  unsigned uid_;                // the kernel's uid in the container
  const docker::HostIds host_;  // and on the host (other numbers with a remapping engine)
  bool data_limited_;           // the kernel runs with a data limit (set by its memory limit)
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
  {
    std::lock_guard lock(mu_);
    remap_known_ = false;  // ask again: the engine may have been restarted with other options
  }
  if (auto remap = Remapping(); !remap) return std::unexpected(remap.error());
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

common::Result<std::optional<docker::Remap>> DockerLauncher::Remapping() {
  {
    std::lock_guard lock(mu_);
    if (remap_known_) return remap_;
  }
  auto remap = DetectRemapping();
  if (!remap) return remap;
  std::lock_guard lock(mu_);
  remap_known_ = true;
  remap_ = *remap;
  return remap_;
}

common::Result<std::optional<docker::Remap>> DockerLauncher::DetectRemapping() {
  auto info = client_->Expect("engine info", "GET", "/info");
  if (!info) return std::unexpected(info.error());
  auto remap = docker::RemapFromInfo(info->body);
  if (!remap || !*remap) return remap;
  // The engine does not say how large its range is: the host's files do (dockerd reads them
  // too; the range's first count ids are the ones that map to start + id). A gateway in a
  // container of its own may not see them: it then takes the size `default` gives, 65536,
  // and relies on the check of each container's own maps (CheckIdMaps).
  docker::Remap& range = **remap;
  const unsigned uids = RangeCount("/etc/subuid", range.uid_start);
  const unsigned gids = RangeCount("/etc/subgid", range.gid_start);
  if (uids == 0 || gids == 0) {
    spdlog::warn(
        "docker: the engine remaps user namespaces to host uid {}, gid {}, but /etc/subuid "
        "and /etc/subgid here have no range starting there: assuming {} ids",
        range.uid_start, range.gid_start, docker::kDefaultRemapSize);
  }
  range.size = std::min(uids == 0 ? docker::kDefaultRemapSize : uids,
                        gids == 0 ? docker::kDefaultRemapSize : gids);
  if (auto fits = docker::CheckRemappedUidsFit(range, uids_.Base()); !fits)
    return std::unexpected(fits.error());
  spdlog::info(
      "docker engine remaps user namespaces: container uid N is host uid {} + N ({} ids); "
      "kernels run as container uids {}..{}",
      range.uid_start, range.size, docker::RemappedContainerUid(uids_.Base()),
      docker::RemappedLastUid(uids_.Base()));
  return remap;
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
  auto remap = Remapping();
  if (!remap) return std::unexpected(remap.error());
  auto slot = uids_.Take();
  if (!slot)
    return common::Fail("no free worker uid: " + std::to_string(UidSlots::kSlots) + " in use");
  const unsigned uid = *remap ? docker::RemappedContainerUid(slot->kernel_uid) : slot->kernel_uid;
  const docker::HostIds host = docker::HostIdsOf(*remap, uid);
  std::function<void()> release = slot->release;
  common::Defer undo_uid([&] { release(); });

  // The kernel creates its sockets in the worker directory and reads its own view of the
  // connection (socket paths under /run/kernel), as in the namespaces backend. Its group is
  // the host uid's number too: only the owner counts for the kernel's access (an engine whose
  // gid range starts elsewhere shows the group as unmapped inside).
  auto inside = PrepareWorkerDir(spec, host.uid);
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
  // Before the check below that the pid is still the container's: then these were its maps.
  if (auto mapped = CheckIdMaps(state->pid, uid, host); !mapped) {
    std::lock_guard lock(mu_);
    remap_known_ = false;  // the next launch asks the engine again
    return std::unexpected(mapped.error());
  }
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
  return std::make_unique<Container>(client_, *id, std::move(exit_fd), spec.dir.string(), uid, host,
                                     options_.limits.data_bytes > 0, std::move(release),
                                     UsageReader::ForProcess(state->pid));
}

common::Result<std::shared_ptr<HostWorkspace>> DockerLauncher::CreateWorkspace(
    const std::filesystem::path& path, std::uint64_t bytes) {
  WorkspaceLimits limits = options_.workspace_limits;
  if (bytes > 0) limits.bytes = bytes;
  return HostWorkspace::Create(path, /*tmpfs=*/true, limits, options_.instance);
}

}  // namespace sandbox
