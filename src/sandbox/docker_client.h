// A small, blocking client of the Docker Engine API over its unix socket (HTTP/1.1, Beast).
// Every call has a deadline; engine errors come back as Result errors that name the call and
// carry the engine's own message ("docker: create container: No such image: foo (HTTP 404)").
//
// The API version is negotiated on first use from /_ping (the highest version both sides
// speak) and again after the engine was unreachable, since it may have been replaced.
// Thread-safe: each call opens its own connection.
//
// The pure parts (request bodies, response parsing) are free functions, unit-tested against
// recorded engine responses.
#pragma once

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sandbox::docker {

// The API versions we speak: everything we use exists since 1.25; 1.41 is what we test.
inline constexpr const char* kMaxApiVersion = "1.41";
inline constexpr const char* kMinApiVersion = "1.25";

struct Response {
  unsigned status = 0;
  std::string body;
  std::string api_version;  // the engine's "Api-Version" header, if any
};

// The unix socket path from a DOCKER_HOST value ("unix:///var/run/docker.sock"); empty or
// unset means the default socket. Other schemes (tcp://, ssh://) are refused.
common::Result<std::string> SocketFromDockerHost(const char* docker_host);

// The highest version both speak ("1.41" against a newer engine, the engine's own when older);
// an error for engines older than kMinApiVersion.
common::Result<std::string> NegotiateVersion(const std::string& engine_version);

// The engine's error for a failed call: its JSON {"message": ...} or the raw body.
common::Error EngineError(const std::string& what, const Response& response);

class Client {
 public:
  explicit Client(std::string socket_path,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15));

  const std::string& SocketPath() const { return socket_path_; }

  // One call: `target` without the version prefix ("/containers/json?all=1").
  // Any HTTP status is a success here; transport failures and deadlines are errors.
  common::Result<Response> Call(const std::string& method, const std::string& target,
                                const std::optional<nlohmann::json>& body = std::nullopt,
                                std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // The same, but a status outside 2xx (and not in `accepted`) is an error naming `what`.
  common::Result<Response> Expect(const std::string& what, const std::string& method,
                                  const std::string& target,
                                  const std::optional<nlohmann::json>& body = std::nullopt,
                                  std::vector<unsigned> accepted = {},
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // GET /_ping: the engine is up; negotiates the version. Returns the version in use.
  common::Result<std::string> Ping(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

 private:
  common::Result<Response> Raw(const std::string& method, const std::string& target,
                               const std::string& body, std::chrono::milliseconds timeout);
  common::Result<std::string> Version(std::chrono::milliseconds timeout);

  std::string socket_path_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::string version_;  // guarded by mu_; empty until negotiated
};

}  // namespace sandbox::docker
