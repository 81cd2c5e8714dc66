// Connection information for one kernel: where its five sockets live and the HMAC key.
// The gateway always creates the file (the kernel never chooses its own endpoints) and
// uses the ipc transport: sockets are "<ipc_prefix>-<n>" inside the worker's directory.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace jupyter {

struct ConnectionInfo {
  std::string ipc_prefix;  // e.g. "/run/code-interpreter/w-3/k"; sockets are "<prefix>-1".."-5"
  std::string key;         // HMAC-SHA256 key (hex text, used as bytes)
  int shell_port = 1;
  int iopub_port = 2;
  int stdin_port = 3;
  int control_port = 4;
  int hb_port = 5;

  std::string ShellEndpoint() const { return Endpoint(shell_port); }
  std::string IopubEndpoint() const { return Endpoint(iopub_port); }
  std::string StdinEndpoint() const { return Endpoint(stdin_port); }
  std::string ControlEndpoint() const { return Endpoint(control_port); }
  std::string HeartbeatEndpoint() const { return Endpoint(hb_port); }
  std::string Endpoint(int port) const {
    return "ipc://" + ipc_prefix + "-" + std::to_string(port);
  }

  // The kernel's view of the same sockets when its filesystem differs from ours (sandboxes
  // mount the worker directory elsewhere): same ports and key, another prefix.
  ConnectionInfo WithPrefix(std::string prefix) const {
    ConnectionInfo copy = *this;
    copy.ipc_prefix = std::move(prefix);
    return copy;
  }
};

// A new connection for a worker directory, with a fresh 256-bit key.
common::Result<ConnectionInfo> NewConnection(const std::filesystem::path& dir);

// Serializes to the JSON connection file format that ipykernel reads (`-f <file>`).
std::string ToJson(const ConnectionInfo& info);

// Writes the connection file with mode 0600.
common::Result<void> WriteConnectionFile(const ConnectionInfo& info,
                                         const std::filesystem::path& file);

}  // namespace jupyter
