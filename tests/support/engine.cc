#include "support/engine.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "sandbox/docker_client.h"
#include "sandbox/docker_launcher.h"

namespace testing_support {

std::string EngineSocket() {
  // A DOCKER_HOST the gateway refuses (tcp://) leaves the tests on the default socket.
  return sandbox::docker::SocketFromDockerHost(std::getenv("DOCKER_HOST"))
      .value_or("/var/run/docker.sock");
}

common::UniqueFd ConnectUnix(const std::string& path) {
  common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (!fd.Valid() || ::connect(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return {};
  return fd;
}

nlohmann::json EngineReply::Json() const { return nlohmann::json::parse(body, nullptr, false); }

EngineReply EngineGet(const std::string& target, std::chrono::milliseconds timeout) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + timeout;
  const common::UniqueFd fd = ConnectUnix(EngineSocket());
  if (!fd.Valid()) return {};
  const std::string request = "GET /v" + std::string(sandbox::docker::kMaxApiVersion) + target +
                              " HTTP/1.0\r\nHost: docker\r\n\r\n";
  if (::send(fd.Get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return {};
  }
  std::string raw;
  char buf[65536];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    pollfd p{fd.Get(), POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return {};  // no complete answer in time
    const ssize_t n = ::read(fd.Get(), buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12 || head_end == std::string::npos) return {};
  return {std::atoi(raw.c_str() + 9), raw.substr(head_end + 4)};
}

nlohmann::json ContainersOfInstance(const std::string& instance) {
  const EngineReply r =
      EngineGet("/containers/json?all=true&filters=" + sandbox::docker::InstanceFilter(instance));
  nlohmann::json list = r.status == 200 ? r.Json() : nlohmann::json();
  return list.is_array() ? list : nlohmann::json::array();
}

}  // namespace testing_support
