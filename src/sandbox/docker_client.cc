// The only translation unit of the sandbox library that includes Beast.
#include "sandbox/docker_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <exception>

namespace sandbox::docker {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;

constexpr std::uint64_t kMaxResponseBytes = 16u << 20;

// "1.41" -> {1, 41}; {0, 0} when malformed.
std::pair<int, int> ParseVersion(const std::string& v) {
  int major = 0, minor = 0;
  const auto dot = v.find('.');
  if (dot == std::string::npos) return {0, 0};
  const char* end = v.data() + v.size();
  const auto a = std::from_chars(v.data(), v.data() + dot, major);
  const auto b = std::from_chars(v.data() + dot + 1, end, minor);
  if (a.ec != std::errc() || a.ptr != v.data() + dot || b.ec != std::errc() || b.ptr != end)
    return {0, 0};
  return {major, minor};
}

asio::awaitable<void> Exchange(Stream& stream, const std::string& path,
                               http::request<http::string_body>& request,
                               http::response_parser<http::string_body>& parser) {
  co_await stream.async_connect(asio::local::stream_protocol::endpoint(path), asio::use_awaitable);
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
}

}  // namespace

common::Result<std::string> SocketFromDockerHost(const char* docker_host) {
  const std::string value = docker_host == nullptr ? "" : docker_host;
  if (value.empty()) return std::string("/var/run/docker.sock");
  constexpr std::string_view kUnix = "unix://";
  if (value.starts_with(kUnix) && value.size() > kUnix.size()) return value.substr(kUnix.size());
  return common::Fail("DOCKER_HOST=" + value +
                      " is not supported: only a local engine (unix:///path) can be used");
}

common::Result<std::string> NegotiateVersion(const std::string& engine_version) {
  const auto engine = ParseVersion(engine_version);
  if (engine < ParseVersion(kMinApiVersion)) {
    return common::Fail("the Docker engine speaks API " +
                        (engine_version.empty() ? std::string("(unknown)") : engine_version) +
                        "; at least " + kMinApiVersion + " is needed");
  }
  return engine < ParseVersion(kMaxApiVersion) ? engine_version : std::string(kMaxApiVersion);
}

common::Error EngineError(const std::string& what, const Response& response) {
  std::string message;
  const auto parsed = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    message = parsed["message"].get<std::string>();
  } else {
    message = response.body.substr(0, 500);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
      message.pop_back();
  }
  if (message.empty()) message = "no details";
  return common::Error{"docker: " + what + ": " + message + " (HTTP " +
                       std::to_string(response.status) + ")"};
}

Client::Client(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

common::Result<Response> Client::Raw(const std::string& method, const std::string& target,
                                     const std::string& body, std::chrono::milliseconds timeout) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "docker");
  request.set(http::field::user_agent, "code-interpreter");
  request.set(http::field::connection, "close");
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();

  asio::io_context io;
  Stream stream(io);
  stream.expires_after(timeout);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  std::exception_ptr failure;
  asio::co_spawn(io, Exchange(stream, socket_path_, request, parser),
                 [&failure](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      if (e.code() == beast::error::timeout) {
        return common::Fail("docker engine at " + socket_path_ + " did not answer " + method + " " +
                            target + " within " + std::to_string(timeout.count()) + " ms");
      }
      return common::Fail("docker engine at " + socket_path_ + " is unreachable (" + method + " " +
                          target + "): " + e.code().message());
    } catch (const std::exception& e) {
      return common::Fail("docker engine at " + socket_path_ + ": " + e.what());
    }
  }
  auto& message = parser.get();
  Response response;
  response.status = message.result_int();
  response.body = std::move(message.body());
  if (auto it = message.find("Api-Version"); it != message.end())
    response.api_version = std::string(it->value());
  return response;
}

common::Result<std::string> Client::Version(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (!version_.empty()) return version_;
  }
  return Ping(timeout);
}

common::Result<std::string> Client::Ping(std::optional<std::chrono::milliseconds> timeout) {
  auto response = Raw("GET", "/_ping", "", timeout.value_or(timeout_));
  const auto forget = [this] {
    std::lock_guard lock(mu_);
    version_.clear();
  };
  if (!response) {
    forget();
    return std::unexpected(response.error());
  }
  if (response->status != 200) {
    forget();
    return std::unexpected(EngineError("ping", *response));
  }
  auto version = NegotiateVersion(response->api_version);
  if (!version) return version;
  std::lock_guard lock(mu_);
  version_ = *version;
  return version_;
}

common::Result<Response> Client::Call(const std::string& method, const std::string& target,
                                      const std::optional<nlohmann::json>& body,
                                      std::optional<std::chrono::milliseconds> timeout) {
  // Negotiation counts against the call's own deadline: a call never waits longer than asked.
  const auto deadline = timeout.value_or(timeout_);
  const auto begin = std::chrono::steady_clock::now();
  auto version = Version(deadline);
  if (!version) return std::unexpected(version.error());
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - begin);
  auto response = Raw(method, "/v" + *version + target, body ? body->dump() : std::string(),
                      std::max(deadline - spent, std::chrono::milliseconds(1)));
  if (!response) {
    // The engine may come back as another version: negotiate again next time.
    std::lock_guard lock(mu_);
    version_.clear();
  }
  return response;
}

common::Result<Response> Client::Expect(const std::string& what, const std::string& method,
                                        const std::string& target,
                                        const std::optional<nlohmann::json>& body,
                                        std::vector<unsigned> accepted,
                                        std::optional<std::chrono::milliseconds> timeout) {
  auto response = Call(method, target, body, timeout);
  if (!response) return response;
  const bool ok = (response->status >= 200 && response->status < 300) ||
                  std::find(accepted.begin(), accepted.end(), response->status) != accepted.end();
  if (!ok) return std::unexpected(EngineError(what, *response));
  return response;
}

}  // namespace sandbox::docker
