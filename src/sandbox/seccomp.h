// The kernel's system-call filter (libseccomp): an allowlist in the spirit of Docker's
// default profile. Anything else fails with EPERM (ENOSYS for clone3 and the new mount API,
// so libc falls back to calls we can inspect); clone with namespace flags and unusual
// personality values fail with EPERM; other ABIs (i386, x32) kill the process.
// Installed last, right before execve, in the kernel's process.
#pragma once

#include <string>

#include "common/result.h"

namespace sandbox {

common::Result<void> InstallSeccomp();

// The same filter as a Docker seccomp profile (the JSON that `docker run --security-opt
// seccomp=<file>` reads), for the docker backend: one policy for both sandboxes, stricter
// than the default profile of older engines (which allows ptrace and io_uring).
std::string DockerSeccompProfile();

}  // namespace sandbox
