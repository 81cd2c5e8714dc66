// DirectKernel: one kernel started by a Launcher exactly as the pool starts one, driven
// in-process through KernelHub with no HTTP and no pool in between. For benchmarks only.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "jupyter/kernel_hub.h"
#include "sandbox/launcher.h"

class DirectKernel {
 public:
  explicit DirectKernel(sandbox::Launcher& launcher)
      : hub_({}, [](std::function<void()> fn) { fn(); }) {
    char templ[] = "/tmp/ci-bench-XXXXXX";
    dir_ = ::mkdtemp(templ);
    std::filesystem::create_directories(dir_ / "mplconfig");
    sandbox::WorkerSpec spec;
    spec.name = "bench-" + dir_.filename().string();
    spec.dir = dir_ / "w-1";
    std::filesystem::create_directories(spec.dir);
    spec.connection_file = spec.dir / "kernel.json";
    spec.connection = *jupyter::NewConnection(spec.dir);
    if (!jupyter::WriteConnectionFile(spec.connection, spec.connection_file)) std::exit(1);
    const auto start = std::chrono::steady_clock::now();
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
    if (!ready.get_future().get()) std::exit(1);
    start_ms_ =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }

  ~DirectKernel() {
    hub_.Disconnect(1);
    kernel_->Kill();
    kernel_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Spawn to ready (kernel_info answered and iopub connected), milliseconds.
  double start_ms() const { return start_ms_; }

  // Runs `1+1`. Callbacks run on the hub thread and wake this one: the same one thread hop
  // back that the gateway's io thread takes.
  bool Once() {
    std::promise<bool> done;
    hub_.Execute(1, "1+1", {},
                 [&](jupyter::ExecutionResult r) { done.set_value(r.result_text == "2"); });
    return done.get_future().get();
  }

 private:
  std::filesystem::path dir_;
  jupyter::KernelHub hub_;
  std::unique_ptr<sandbox::Sandbox> kernel_;
  double start_ms_ = 0;
};
