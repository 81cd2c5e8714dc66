#include "gateway/router.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "gateway/api.h"

namespace gateway {
namespace {

struct Route {
  std::string_view path;
  std::string_view method;
  bool needs_auth;
};

constexpr Route kRoutes[] = {
    {"/execute", "POST", true}, {"/release", "POST", true}, {"/status", "GET", true},
    {"/health", "GET", false},  {"/", "GET", false},
};

bool Authorized(const HttpRequest& request, const RouterConfig& config) {
  return request.auth_token.has_value() && !config.token.empty() &&
         common::SecretEquals(*request.auth_token, config.token);
}

std::string_view PathOf(const HttpRequest& request) {
  const std::string_view target = request.target;
  return target.substr(0, target.find('?'));
}

}  // namespace

std::optional<HttpResponse> CheckHead(const HttpRequest& head, const RouterConfig& config) {
  const std::string_view path = PathOf(head);
  const Route* route = nullptr;
  for (const Route& r : kRoutes) {
    if (r.path == path) route = &r;
  }
  if (route == nullptr) return ErrorResponse(404, "Not found");
  if (head.method != route->method) {
    HttpResponse response =
        ErrorResponse(405, "Method not allowed; use " + std::string(route->method));
    response.headers.emplace_back("Allow", std::string(route->method));
    return response;
  }
  if (route->needs_auth && !Authorized(head, config))
    return ErrorResponse(401, "Missing or invalid X-Auth-Token");
  return std::nullopt;
}

void HandleRequest(const HttpRequest& request, const RouterConfig& config, pool::Sessions& sessions,
                   std::function<void(HttpResponse)> respond) {
  if (auto refusal = CheckHead(request, config)) return respond(std::move(*refusal));

  const std::string_view path = PathOf(request);
  if (path == "/execute") {
    auto command = ParseExecute(request.body, config);
    if (!command) return respond(ErrorResponse(400, command.error().message));
    command->ticket = request.id;
    sessions.Execute(std::move(*command),
                     [respond = std::move(respond)](pool::ExecuteOutcome outcome) {
                       respond(ExecuteResponse(std::move(outcome)));
                     });
  } else if (path == "/release") {
    auto user = ParseRelease(request.body, config);
    if (!user) return respond(ErrorResponse(400, user.error().message));
    const bool had = sessions.Release(*user);
    HttpResponse response;
    response.body = nlohmann::json{
        {"status", "ok"},
        {"detail",
         had ? "Worker for user " + *user + " has been released."
             : "No worker was assigned to user " + *user +
                   "."}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    respond(std::move(response));
  } else if (path == "/status") {
    HttpResponse response;
    response.body = StatusBody(sessions.Status());
    respond(std::move(response));
  } else if (path == "/health") {
    HttpResponse response;
    response.body = R"({"status":"ok"})";
    respond(std::move(response));
  } else {
    HttpResponse response;
    response.content_type = "text/html; charset=utf-8";
    response.body = kTestPage;
    // Kernel output shown on the page is data, never code: no inline content from elsewhere.
    response.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'");
    respond(std::move(response));
  }
}

}  // namespace gateway
