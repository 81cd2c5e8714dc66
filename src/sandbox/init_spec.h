// What the gateway tells the sandbox's init process (`code-interpreter __sandbox-init`),
// sent as JSON over the handshake socket. Also used to build the spec on the gateway side.
// Init runs as the root of the sandbox's user namespace, an unprivileged host uid that may
// not even look up the gateway's runtime directory: what it needs of the host's files beyond
// the world-readable system comes as descriptors it inherited (worker_fd).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sandbox/limits.h"

namespace sandbox {

struct InitSpec {
  int worker_fd = -1;  // a detached mount (open_tree) of the worker directory, for kKernelDir
  unsigned uid = 0;    // uid/gid the kernel runs as, inside the sandbox's user namespace
  unsigned gid = 0;
  std::string hostname = "sandbox";
  // The system mounted read-only under the sandbox (its usr/, the /etc entries a kernel
  // needs, the top-level links): an environment's root, or "/" for the host's own. An
  // environment's root comes as a descriptor (O_PATH, opened before init gave up the
  // gateway's ids), since a directory above it may be closed to init's uid (the state dir is
  // 0700); `system_root` then only names it in messages.
  std::string system_root = "/";
  int system_fd = -1;
  Limits limits;
  std::vector<std::string> argv;  // the kernel command, paths as seen inside
  std::vector<std::string> env;   // KEY=VALUE, the kernel's whole environment
};

inline constexpr const char* kKernelDir = "/run/kernel";
inline constexpr const char* kHomeDir = "/home/sandbox";
// The session's workspace, attached by the gateway once the sandbox is handed to a session
// (mount_attach.h); until then an empty, read-only directory.
inline constexpr const char* kWorkspaceDir = "/sandbox";
// Where init assembles the new root (a tmpfs over it, in init's private mount namespace,
// hiding nothing of the host's /tmp outside it).
inline constexpr const char* kNewRootDir = "/tmp";

inline void to_json(nlohmann::json& j, const InitSpec& s) {
  j = {{"worker_fd", s.worker_fd},
       {"uid", s.uid},
       {"gid", s.gid},
       {"hostname", s.hostname},
       {"system_root", s.system_root},
       {"system_fd", s.system_fd},
       {"pids", s.limits.pids},
       {"ptys", s.limits.ptys},
       {"tmp_bytes", s.limits.tmp_bytes},
       {"home_bytes", s.limits.home_bytes},
       {"file_size_bytes", s.limits.file_size_bytes},
       {"data_bytes", s.limits.data_bytes},
       {"data_max_bytes", s.limits.data_max_bytes},
       {"pids_max", s.limits.pids_max},
       {"open_files", s.limits.open_files},
       {"argv", s.argv},
       {"env", s.env}};
}

inline void from_json(const nlohmann::json& j, InitSpec& s) {
  j.at("worker_fd").get_to(s.worker_fd);
  j.at("uid").get_to(s.uid);
  j.at("gid").get_to(s.gid);
  j.at("hostname").get_to(s.hostname);
  j.at("system_root").get_to(s.system_root);
  j.at("system_fd").get_to(s.system_fd);
  j.at("pids").get_to(s.limits.pids);
  j.at("ptys").get_to(s.limits.ptys);
  j.at("tmp_bytes").get_to(s.limits.tmp_bytes);
  j.at("home_bytes").get_to(s.limits.home_bytes);
  j.at("file_size_bytes").get_to(s.limits.file_size_bytes);
  j.at("data_bytes").get_to(s.limits.data_bytes);
  j.at("data_max_bytes").get_to(s.limits.data_max_bytes);
  j.at("pids_max").get_to(s.limits.pids_max);
  j.at("open_files").get_to(s.limits.open_files);
  j.at("argv").get_to(s.argv);
  j.at("env").get_to(s.env);
}

// Entry point of `code-interpreter __sandbox-init <fd>`: runs as pid 1 of the new pid
// namespace; never returns normally (exits when the kernel exits). Besides the spec it takes
// one request on `fd`: "R" (the kernel is ready: make /run/kernel read-only), answered "r".
int RunSandboxInit(int fd);

}  // namespace sandbox
