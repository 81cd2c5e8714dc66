#include "hub_kernel.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <future>

#include "jupyter/connection.h"
#include "sandbox/docker_launcher.h"
#include "sandbox/namespaces_launcher.h"
#include "sandbox/process_launcher.h"

#ifndef CI_BINARY
#error "CI_BINARY must name the code-interpreter binary"
#endif

namespace bench {

std::unique_ptr<sandbox::Launcher> MakeLauncher(const std::string& backend) {
  const std::string instance = "bench-" + std::to_string(::getpid());
  if (backend == "none") return std::make_unique<sandbox::ProcessLauncher>();
  if (backend == "namespaces") {
    auto host = sandbox::NamespacesLauncher::CheckHost();
    if (!host) {
      std::fprintf(stderr, "namespaces sandbox unavailable: %s\n", host.error().message.c_str());
      std::exit(1);
    }
    return std::make_unique<sandbox::NamespacesLauncher>(sandbox::Limits{}, instance, *host,
                                                         CI_BINARY);
  }
  if (backend == "docker") {
    sandbox::DockerOptions options;
    options.socket = *sandbox::docker::SocketFromDockerHost(std::getenv("DOCKER_HOST"));
    options.instance = instance;
    auto launcher = std::make_unique<sandbox::DockerLauncher>(options);
    if (auto checked = launcher->Check(); !checked) {
      std::fprintf(stderr, "docker sandbox unavailable: %s\n", checked.error().message.c_str());
      std::exit(1);
    }
    return launcher;
  }
  std::fprintf(stderr, "unknown backend %s\n", backend.c_str());
  std::exit(2);
}

HubKernel::HubKernel(sandbox::Launcher& launcher, std::size_t stream_cap_chars,
                     std::size_t max_message_bytes)
    : hub_(jupyter::HubOptions{.max_message_bytes = max_message_bytes},
           [](std::function<void()> fn) { fn(); }) {
  char templ[] = "/tmp/ci-bench-XXXXXX";
  dir_ = ::mkdtemp(templ);
  std::filesystem::create_directories(dir_ / "mplconfig");
  sandbox::WorkerSpec spec;
  spec.name = "bench-" + dir_.filename().string();
  spec.dir = dir_ / "w-1";
  std::filesystem::create_directories(spec.dir);
  spec.connection_file = spec.dir / "kernel.json";
  spec.connection = *jupyter::NewConnection(spec.dir);
  spec.stream_cap_chars = stream_cap_chars;
  if (!jupyter::WriteConnectionFile(spec.connection, spec.connection_file)) std::exit(1);
  auto kernel = launcher.Launch(spec);
  if (!kernel) {
    std::fprintf(stderr, "launch failed: %s\n", kernel.error().message.c_str());
    std::exit(1);
  }
  kernel_ = std::move(*kernel);
  hub_.Connect(1, spec.connection);
  std::promise<bool> ready;
  hub_.WaitReady(1, std::chrono::seconds(60),
                 [&](common::Result<void> r) { ready.set_value(r.has_value()); });
  if (!ready.get_future().get()) {
    std::fprintf(stderr, "direct kernel did not become ready\n");
    std::exit(1);
  }
  kernel_->OnKernelReady();
}

HubKernel::~HubKernel() {
  hub_.Disconnect(1);
  kernel_->Kill();
  kernel_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

jupyter::ExecutionResult HubKernel::Execute(const std::string& code, jupyter::OutputLimits limits) {
  // The callback runs on the hub thread and wakes this one: the same one thread hop back
  // that the gateway's io thread takes.
  std::promise<jupyter::ExecutionResult> done;
  hub_.Execute(1, code, limits, {},
               [&](jupyter::ExecutionResult r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

}  // namespace bench
