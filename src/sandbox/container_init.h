// Where the docker backend's init (container_init_main.cc, `sandbox-container-init`) comes
// from and where containers see it. The engine resolves bind-mount sources on the host, and
// the gateway may itself run in a container, so the binary is first copied into the runtime
// directory: the one path the gateway and the engine are known to share (the worker
// directories live there). Thread-safe when callers serialise InstallContainerInit.
#pragma once

#include <string>

#include "common/result.h"

namespace sandbox {

inline constexpr const char* kContainerInitName = "sandbox-container-init";
// The container's pid 1, bind-mounted read-only (beside where Docker puts its own init).
inline constexpr const char* kContainerInitPath = "/sbin/sandbox-container-init";

// `sandbox-container-init` beside this process's executable.
std::string DefaultContainerInit();

// Copies `binary` to `<runtime_dir>/sandbox-container-init` (root, 0755; replaced
// atomically, so running containers keep their copy) and returns the copy's path.
common::Result<std::string> InstallContainerInit(const std::string& binary,
                                                 const std::string& runtime_dir);

}  // namespace sandbox
