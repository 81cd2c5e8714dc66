// The docker backend's container, as the Engine API sees it: the options of a DockerLauncher,
// the body of POST /containers/create for one worker (every limit and protection listed in
// docker_launcher.h), and the parsing of what the engine answers about containers. Pure
// functions of their arguments: any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/launcher.h"
#include "sandbox/limits.h"

namespace sandbox {

struct DockerOptions {
  std::string socket = "/var/run/docker.sock";
  std::string image = "code-interpreter-worker:latest";
  std::string instance;  // "i-<hash>" (NamespacesLauncher::ScopeFor(runtime dir))
  std::string python = "/usr/bin/python3";  // inside the image
  std::string init_binary;                  // sandbox-container-init; empty: beside this executable
  Limits limits;
  WorkspaceLimits workspace_limits;
};

namespace docker {

inline constexpr const char* kManagedLabel = "managed-by";
inline constexpr const char* kManagedValue = "code-interpreter";
inline constexpr const char* kInstanceLabel = "org.code-interpreter.instance";

// What the pool needs to know of a container, from GET /containers/{id}/json.
struct ContainerState {
  bool running = false;
  int pid = 0;  // host pid of the container's init while running
  bool oom_killed = false;
  int exit_code = 0;
  std::string error;  // the engine's State.Error ("" when none)
};

// The body of POST /containers/create for one worker; `init` is the host path of the
// container init (InstallContainerInit).
// POST /containers/{id}/update: a session's limits for a running container.
nlohmann::json UpdateBody(const ResourceLimits& limits);

nlohmann::json CreateBody(const DockerOptions& options, const WorkerSpec& spec,
                          const std::vector<std::string>& argv, unsigned uid,
                          const std::string& init);
common::Result<ContainerState> ParseState(const std::string& inspect_body);
// Ids of the containers in a GET /containers/json answer.
common::Result<std::vector<std::string>> ParseContainerIds(const std::string& list_body);
// A container's exit code as a waitpid-style status (the init reports 128+n for signal n).
int WaitStatusFromExitCode(int exit_code);
// The percent-encoded `filters` query value selecting one instance's containers.
std::string InstanceFilter(const std::string& instance);

}  // namespace docker

}  // namespace sandbox
