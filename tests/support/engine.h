// The Docker Engine asked directly, for a test's own view of the containers (no docker CLI and
// not the product's client, which is what is under test): one GET per connection over the
// engine's unix socket, at the API version the gateway is tested with.
// Thread-safe: each call opens its own connection.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/unique_fd.h"

namespace testing_support {

// The engine's socket, found as the gateway finds it: DOCKER_HOST=unix://<path>, else
// /var/run/docker.sock.
std::string EngineSocket();

// A blocking connection to the unix socket at `path`; invalid when nothing listens there.
common::UniqueFd ConnectUnix(const std::string& path);

struct EngineReply {
  int status = 0;  // 0: no engine, or no complete answer in time
  std::string body;

  nlohmann::json Json() const;  // the body parsed as JSON (discarded value on failure)
};

// GET `target` ("/containers/<id>/json", without the version prefix). HTTP/1.0, so that the
// answer is not chunked and ends when the engine closes; it must end within `timeout`.
EngineReply EngineGet(const std::string& target,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The containers (any state) of one gateway instance ("i-<hash>"), selected with the gateway's
// own label filter; an empty array unless the engine answers 200 with a list.
nlohmann::json ContainersOfInstance(const std::string& instance);

}  // namespace testing_support
