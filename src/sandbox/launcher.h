// The seam between the pool and the ways of running a kernel. A Launcher turns a WorkerSpec
// into a running, sandboxed ipykernel that listens on the spec's connection; the returned
// Sandbox owns it and kills it completely on Kill() or destruction.
//
// Backends: "none" (ProcessLauncher, a plain child process, development only), "namespaces"
// (the default) and "docker". Launch() may block (fork, mounts, Docker API
// calls): the pool calls it on a blocking thread pool, never on the io thread. A Launcher is
// shared by those threads, so implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "jupyter/connection.h"
#include "sandbox/cgroup_usage.h"
#include "sandbox/environment.h"
#include "sandbox/host_workspace.h"
#include "sandbox/limits.h"

namespace sandbox {

struct WorkerSpec {
  std::string name;                       // "w-<n>", unique per gateway run; used in logs and paths
  std::filesystem::path dir;              // per-worker runtime directory, created by the pool
  std::filesystem::path connection_file;  // inside `dir`
  jupyter::ConnectionInfo connection;     // as the gateway sees it
  std::string python = "/usr/bin/python3";
  // The system the kernel runs on: a built environment's root (namespaces) or image (docker),
  // else the host's own.
  Environment environment;
  std::vector<std::string> kernel_args;  // extra arguments for ipykernel_launcher
  // Characters a kernel keeps of each stream (stdout, stderr) per execution; 0: no cap. The
  // gateway caps what it keeps too, but ipykernel buffers a cell's output without bound
  // between flushes, so a fast printer would run out of memory before the gateway sees it.
  std::size_t stream_cap_chars = 0;
  std::map<std::string, std::string> env;  // extra environment (the rest is a clean default)
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;

  // A file descriptor that becomes readable when the kernel has exited (a pidfd for child
  // processes). Owned by the Sandbox; valid until destruction.
  virtual int ExitFd() const = 0;
  // Kills everything in the sandbox and reaps it; idempotent, may block briefly.
  virtual void Kill() = 0;
  // The exit status once the kernel has exited (waitpid-style), reaping it if needed.
  virtual std::optional<int> ExitStatus() = 0;
  // Called once the kernel answered its readiness handshake, before any user code runs:
  // the sandbox may now take away what only start-up needed.
  virtual void OnKernelReady() {}
  // Makes `workspace` this sandbox's /sandbox and the directory the kernel's cells run in
  // from its next cell on, after giving the workspace's files to the kernel's host ids (and
  // setting workspace.Owner() to them). Blocks: called on the blocking executor, at most once,
  // after OnKernelReady and before any of the session's code.
  virtual common::Result<void> AttachWorkspace(HostWorkspace& workspace) = 0;
  // Gives the sandbox a session's memory, CPU and process limits, in place (its cgroup, and
  // the kernel's soft rlimits from its session's first cell on, see worker_dir.h). Blocks:
  // called on the blocking executor, after OnKernelReady and before any of the session's
  // code. An error leaves the limits in an unknown state: the caller replaces the worker.
  virtual common::Result<void> AdjustLimits(const ResourceLimits& /*limits*/) {
    return common::Fail("this backend cannot change a worker's limits");
  }
  // CPU time of everything in the sandbox since it started, and its peak memory since the
  // last ResetPeakMemory() (cgroup_usage.h says where the peak cannot be reset); nullopt where
  // the backend cannot tell. Cheap (a few small file reads): may be called on the io thread.
  virtual std::optional<ResourceUsage> Usage() const { return std::nullopt; }
  virtual void ResetPeakMemory() {}
  // True when the kernel was killed for exceeding its memory limit.
  virtual bool OutOfMemory() const { return false; }
  // For logs: "pid 1234", "container 3f2a...".
  virtual std::string Describe() const = 0;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual std::string Name() const = 0;
  virtual common::Result<std::unique_ptr<Sandbox>> Launch(const WorkerSpec& spec) = 0;
  // A new, empty workspace for a session at `path` (which does not exist yet), as this
  // backend's sandboxes can attach it, of `bytes` where the backend limits its size (0: the
  // backend's configured size). Blocks; thread-safe.
  virtual common::Result<std::shared_ptr<HostWorkspace>> CreateWorkspace(
      const std::filesystem::path& path, std::uint64_t bytes) = 0;
  // Why this backend, as configured, gives sessions no workspace; empty when it does. Without
  // one, kernels keep their home directory as working directory and the file routes refuse.
  virtual std::string NoWorkspaces() const { return {}; }
  // Called once at shutdown, after every Sandbox was killed: removes whatever of this
  // instance is left outside them (e.g. a container an earlier, killed gateway was still
  // creating when this one swept at start).
  virtual void Shutdown() {}
};

// Human-readable form of a waitpid status: "exit code 1", "signal 9 (Killed)".
std::string DescribeExitStatus(int status);

}  // namespace sandbox
