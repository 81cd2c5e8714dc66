// HubKernel: one kernel started by a Launcher the way the pool starts one (same stream cap,
// same connection setup), driven in-process through KernelHub with no HTTP and no pool in
// between: the direct-ZeroMQ baseline of run_all. Use from one thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "jupyter/execution.h"
#include "jupyter/kernel_hub.h"
#include "sandbox/launcher.h"

namespace bench {

// "none", "namespaces" or "docker" (as the gateway's --sandbox), for an in-process kernel;
// exits with a message when the backend is unavailable.
std::unique_ptr<sandbox::Launcher> MakeLauncher(const std::string& backend);

class HubKernel {
 public:
  // `stream_cap_chars` as the pool sets it: the gateway's --max-output-text + 4096.
  HubKernel(sandbox::Launcher& launcher, std::size_t stream_cap_chars,
            std::size_t max_message_bytes = 64u << 20);
  ~HubKernel();
  HubKernel(const HubKernel&) = delete;
  HubKernel& operator=(const HubKernel&) = delete;

  jupyter::ExecutionResult Execute(const std::string& code, jupyter::OutputLimits limits = {});
  // `1+1`, true when it answered 2.
  bool Once() { return Execute("1+1").result_text == "2"; }

 private:
  std::filesystem::path dir_;
  jupyter::KernelHub hub_;
  std::unique_ptr<sandbox::Sandbox> kernel_;
};

}  // namespace bench
