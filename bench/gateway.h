// A gateway under test: the real `code-interpreter serve` binary on loopback, port 0, started
// through the integration tests' ServerProcess with a chosen sandbox backend, plus what the
// benchmarks ask of it (/status, waiting for a warm pool, the processes of its workers).
// Use from one thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loadgen.h"

namespace testing_support {
class ServerProcess;
}

namespace bench {

class Gateway {
 public:
  // `extra` is appended to serve --sandbox=<backend> --listen 127.0.0.1:0 --state-dir ...
  Gateway(const std::string& backend, std::vector<std::string> extra);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  bool ok() const;
  std::string Log() const;
  pid_t pid() const;
  Target target() const;
  const std::string& backend() const { return backend_; }

  // GET /status (null on failure).
  nlohmann::json Status();
  // Waits until at least `idle` workers are idle and none is starting; false after `seconds`.
  bool WaitIdle(std::size_t idle, double seconds);
  // Waits until no worker is starting or being killed (total == idle + busy, nothing
  // starting); false after `seconds`.
  bool WaitSettled(double seconds);

  // The processes of each worker: with none and namespaces each child of the gateway and its
  // descendants; with docker each container's init and its descendants (`with_shim` adds
  // the containerd-shim that holds the container).
  std::vector<std::vector<pid_t>> WorkerTrees(bool with_shim = false) const;
  // All worker processes, flattened.
  std::vector<pid_t> WorkerPids() const;

 private:
  std::string backend_;
  std::unique_ptr<testing_support::ServerProcess> server_;
  std::unique_ptr<SyncClient> client_;
};

// Stops every gateway still running (SIGTERM, so each kills its kernels), waits for them and
// removes their directories. For run_all's signal thread, just before it exits.
void StopAllGateways();

}  // namespace bench
