// The kernel's system-call filter: seccomp_policy.h's rules, loaded with libseccomp or
// handed to Docker. Anything the policy does not allow fails with EPERM (ENOSYS for clone3
// and the new mount API, so libc falls back to calls we can inspect; EAFNOSUPPORT for socket
// families other than unix, inet, inet6 and netlink-route); other ABIs (i386, x32) kill the
// process. Installed last, right before execve, in the kernel's process.
#pragma once

#include <string>

#include "common/result.h"

namespace sandbox {

common::Result<void> InstallSeccomp();

// The same filter as a Docker seccomp profile (the JSON that `docker run --security-opt
// seccomp=<file>` reads), for the docker backend: one policy for both sandboxes, no weaker
// than the engine's default profile anywhere (docs/security.md).
std::string DockerSeccompProfile();

}  // namespace sandbox
