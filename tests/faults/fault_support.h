// Host-side observations for the fault and soak suites: what one gateway instance owns on this
// machine (its sandbox processes, cgroups, containers, runtime entries), plus raw TCP clients
// that misbehave on purpose. What the gateway process itself holds (fds, threads, RSS) is read
// with support/proc.h.
//
// Everything is scoped to one instance (the scope derived from its runtime dir, as the gateway
// derives it), so suites running in parallel on the same host do not see each other's workers.
// Functions are thread-safe (they only read /proc, /sys and the Docker engine).
#pragma once

#include <sys/types.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/proc.h"
#include "support/server_process.h"

// A test for a known bug in src/: skipped so that CI stays green, run with CI_RUN_KNOWN_BUGS=1
// (it fails until the bug is fixed).
#define SKIP_KNOWN_BUG(text) \
  if (std::getenv("CI_RUN_KNOWN_BUGS") == nullptr) GTEST_SKIP() << "KNOWN BUG: " << text

namespace faults {

std::string Join(const std::vector<std::string>& items);

// ---- what one instance owns ----------------------------------------------------------------

struct Instance {
  std::string backend;      // "namespaces", "docker" or "none"
  std::string scope;        // "i-<12 hex>": cgroup scope and docker instance label
  unsigned uid_base = 0;    // first uid of the instance's kernel uid range
  std::string runtime_dir;  // absolute
  pid_t gateway = -1;
};

// The instance of a running server (its backend is TestSandbox()).
Instance InstanceOf(const testing_support::ServerProcess& server);

// Live (non-zombie) processes running as one of the instance's kernel uids. With "none",
// every descendant of the gateway instead (kernels run as the gateway's own user there).
std::vector<testing_support::HostProcess> SandboxProcesses(const Instance& instance);
// The kernels among them (python processes), e.g. to SIGSTOP a pool worker.
std::vector<int> KernelPids(const Instance& instance);

// Worker cgroup directories of the instance, in every hierarchy (namespaces backend).
std::vector<std::string> WorkerCgroups(const Instance& instance);
// "w-*" entries of the runtime dir (worker dirs and, with namespaces, their ".root").
std::vector<std::string> RuntimeWorkerEntries(const Instance& instance);

struct Container {
  std::string id;
  std::string name;
  bool running = false;
};

// Containers (any state) labelled managed-by=code-interpreter with the instance's label.
std::vector<Container> InstanceContainers(const Instance& instance);

// Sandbox processes that are not inside a live worker of the instance: with namespaces, not in
// a worker cgroup of the scope that still exists; with docker, not in a running container of
// the instance. Descriptions, empty when there is none.
std::vector<std::string> StrayProcesses(const Instance& instance);

// Number of sandboxes the backend shows on the host: worker groups in the memory (or unified)
// hierarchy with namespaces, the instance's containers with docker, 0 with none.
int SandboxCount(const Instance& instance);

// ---- misbehaving TCP clients ---------------------------------------------------------------

// A blocking TCP connection to 127.0.0.1:port; -1 on failure.
int ConnectLoopback(int port);
// Sends everything (MSG_NOSIGNAL); false when the connection broke.
bool SendAll(int fd, const std::string& bytes);
// Closes with an RST instead of a FIN (SO_LINGER 0).
void ResetAndClose(int fd);
// An HTTP/1.1 request with the token, Content-Length and a JSON body.
std::string PostRequest(const std::string& path, const std::string& token, const std::string& body,
                        bool keep_alive = false);

}  // namespace faults
