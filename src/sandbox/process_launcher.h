// ProcessLauncher ("--sandbox=none"): runs ipykernel as a plain child process in its own
// session and process group, with a clean environment, every inherited fd closed and
// PR_SET_PDEATHSIG. It isolates nothing: for development only, and says so loudly.
#pragma once

#include "sandbox/launcher.h"

namespace sandbox {

class ProcessLauncher final : public Launcher {
 public:
  ProcessLauncher();
  std::string Name() const override { return "none"; }
  common::Result<std::unique_ptr<Sandbox>> Launch(const WorkerSpec& spec) override;
  // A plain directory: its size is not limited.
  common::Result<std::shared_ptr<HostWorkspace>> CreateWorkspace(const std::filesystem::path& path,
                                                                 std::uint64_t bytes) override;
};

// argv/envp for execve: pointers into `strings` (which must outlive them), null-terminated.
std::vector<char*> ExecStrings(std::vector<std::string>& strings);

// Builds argv for `python -m ipykernel_launcher -f <connection file> ...`.
std::vector<std::string> KernelCommand(const WorkerSpec& spec, const std::string& connection_file);

}  // namespace sandbox
