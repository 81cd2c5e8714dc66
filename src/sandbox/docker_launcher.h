// DockerLauncher ("--sandbox=docker"): each kernel in a container of its own, created through
// the Docker Engine API: no network, read-only root, size- and inode-limited tmpfs /tmp,
// home and /dev/shm, a private devpts with a pty cap, memory (swap equal to memory), pids and
// CPU limits, oom_score_adj 1000, every capability dropped, no-new-privileges, our seccomp
// allowlist (the namespaces backend's, as a Docker profile), /proc/cmdline and the like
// masked, a private cgroup namespace, our own non-dumpable init (container_init.h), and a
// non-root uid of its own (the same per-instance uid ranges as the namespaces backend). The worker
// directory is bind-mounted at /run/kernel: the kernel's ipc:// sockets appear there and the
// gateway talks ZeroMQ to them directly, as with the other backends.
//
// Containers carry the label managed-by=code-interpreter and this instance's id; those left
// by an earlier run of the same instance are removed before the first launch. The exit of a
// container is watched through a pidfd on its init process (the gateway must share the host's
// pid namespace), so a dead kernel is noticed at once without polling the engine.
//
// An engine started with --userns-remap (docker_userns.h) is found from its info: the
// container is then created with its container uid, and the worker directory and workspace
// go to that uid's host uid in the engine's subordinate range.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sandbox/docker_client.h"
#include "sandbox/docker_container.h"
#include "sandbox/docker_userns.h"
#include "sandbox/launcher.h"
#include "sandbox/limits.h"
#include "sandbox/uid_slots.h"

namespace sandbox {

class DockerLauncher final : public Launcher {
 public:
  explicit DockerLauncher(DockerOptions options);

  // The engine answers and each environment's image exists (an environment without an image
  // of its own runs DockerOptions::image), and how it maps ids (Remapping). Failures are not
  // fatal: the gateway keeps serving (with 503s) and the next launch tries again.
  common::Result<void> Check(const std::vector<Environment>& environments = {Environment{}});
  // Removes this instance's containers left by an earlier run; returns how many.
  common::Result<int> SweepStale();

  std::string Name() const override { return "docker"; }
  common::Result<std::unique_ptr<Sandbox>> Launch(const WorkerSpec& spec) override;
  // A tmpfs of options.workspace_limits, like the namespaces backend's.
  common::Result<std::shared_ptr<HostWorkspace>> CreateWorkspace(const std::filesystem::path& path,
                                                                 std::uint64_t bytes) override;
  void Shutdown() override;  // sweeps the instance's containers once more

  // Whether and how the engine remaps user namespaces (nullopt: it does not), asked once and
  // then remembered until a container's maps disagree with it (or Check asks again). An
  // error when the engine's answer is malformed, or when this instance's container uids do
  // not fit in the range (its size from /etc/subuid and /etc/subgid, else 65536).
  common::Result<std::optional<docker::Remap>> Remapping();

 private:
  common::Result<std::optional<docker::Remap>> DetectRemapping();
  common::Result<std::string> Create(const WorkerSpec& spec, const std::string& name,
                                     const nlohmann::json& body);

  DockerOptions options_;
  std::shared_ptr<docker::Client> client_;
  UidSlots uids_;
  std::mutex mu_;
  bool swept_ = false;        // guarded by mu_
  std::string init_;          // guarded by mu_: the installed container init, once installed
  bool remap_known_ = false;  // guarded by mu_
  std::optional<docker::Remap> remap_;  // guarded by mu_: valid when remap_known_
};

}  // namespace sandbox
