// The HTTP API as a pure function: HandleRequest(request) -> response, apart from calls into
// the Sessions interface. Knows routes, auth and JSON; knows nothing about sockets (the
// Beast session in http_server.cc does the I/O) or processes (the pool does).
// Called on the io thread; `respond` is called exactly once, possibly later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pool/sessions.h"

namespace gateway {

struct HttpRequest {
  std::string method;                     // "GET", "POST", ...
  std::string target;                     // path, possibly with a query string
  std::optional<std::string> auth_token;  // X-Auth-Token, when present
  std::string body;
  std::uint64_t id = 0;  // unique per server run; lets the connection abandon the request
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct RouterConfig {
  std::string token;
  std::chrono::milliseconds max_exec_timeout{300 * 1000};
  std::size_t max_user_bytes = 256;
};

void HandleRequest(const HttpRequest& request, const RouterConfig& config, pool::Sessions& sessions,
                   std::function<void(HttpResponse)> respond);

// The refusal that the request line and headers alone decide (404 unknown path, 405 wrong
// method, 401 missing or wrong token), or nullopt. `head.body` is ignored: the connection
// calls this before it reads a body, so nobody without the token makes the gateway hold one.
// HandleRequest applies the same checks first.
std::optional<HttpResponse> CheckHead(const HttpRequest& head, const RouterConfig& config);

// A JSON error response {"detail": ...}.
HttpResponse ErrorResponse(int status, std::string detail);

// The HTML test page served at GET /.
extern const char* const kTestPage;

}  // namespace gateway
