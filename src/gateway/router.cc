#include "gateway/router.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "gateway/api.h"
#include "gateway/api_docs.h"
#include "gateway/execution_routes.h"
#include "gateway/file_routes.h"
#include "gateway/mcp_route.h"
#include "gateway/metrics_route.h"
#include "gateway/session_routes.h"
#include "gateway/url_files.h"
#include "gateway/v1_routes.h"

namespace gateway {
namespace {

constexpr RouteInfo kRoutes[] = {
    {"/execute", "POST", true},
    {"/release", "POST", true},
    {"/interrupt", "POST", true},
    {"/sessions", "POST", true},
    {"/sessions/*", "GET", true},
    {"/executions", "POST", true},
    {"/executions/*", "GET POST", true},
    {"/status", "GET", true},
    {"/metrics", "GET", true},
    {"/files", "GET PUT DELETE", true},
    {"/files/list", "GET", true},
    {"/files/upload", "POST", true},
    {"/api/v1/execute", "POST", true},
    {"/api/v1/release", "POST", true},
    {"/api/v1/status", "GET", true},
    {"/api/v1/files", "POST DELETE", true},
    {"/api/v1/files/export", "POST", true},
    {"/mcp", "POST DELETE", true},
    {"/health", "GET", false},
    {"/openapi.json", "GET", false},
    {"/docs", "GET", false},
    {"/", "GET", false},
};

bool Allows(const RouteInfo& route, std::string_view method) {
  std::string_view methods = route.methods;
  while (!methods.empty()) {
    const std::size_t space = methods.find(' ');
    if (methods.substr(0, space) == method) return true;
    methods = space == std::string_view::npos ? std::string_view() : methods.substr(space + 1);
  }
  return false;
}

std::string AllowHeader(const RouteInfo& route) {
  std::string out;
  for (const char c : route.methods) out += c == ' ' ? std::string(", ") : std::string(1, c);
  return out;
}

bool Authorized(const HttpRequest& request, const RouterConfig& config) {
  return request.auth_token.has_value() && !config.token.empty() &&
         common::SecretEquals(*request.auth_token, config.token);
}

}  // namespace

std::optional<HttpResponse> CheckHead(const HttpRequest& head, const RouterConfig& config) {
  const std::string_view path = RequestPath(head);
  const RouteInfo* route = nullptr;
  for (const RouteInfo& r : kRoutes) {
    // "/x/*": any one or more characters after "/x/".
    const bool prefix = r.path.ends_with("/*");
    if (prefix ? path.size() > r.path.size() - 1 &&
                     path.starts_with(r.path.substr(0, r.path.size() - 1))
               : r.path == path) {
      route = &r;
    }
  }
  if (route == nullptr) return ErrorResponse(404, "Not found");
  if (head.method == "OPTIONS" && !config.cors.origins.empty())
    return PreflightResponse(config.cors, head.origin, AllowHeader(*route));
  if (!Allows(*route, head.method)) {
    const std::string allow = AllowHeader(*route);
    HttpResponse response = ErrorResponse(405, "Method not allowed; use " + allow);
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  if (route->needs_auth && !Authorized(head, config))
    return ErrorResponse(401, "Missing or invalid X-Auth-Token");
  return std::nullopt;
}

void HandleRequest(const HttpRequest& request, const RouterConfig& config, pool::Sessions& sessions,
                   std::function<void(HttpResponse)> respond) {
  if (auto refusal = CheckHead(request, config)) return respond(std::move(*refusal));

  const std::string_view path = RequestPath(request);
  if (IsStreamedUpload(request)) {
    // A body read whole (the connection streams it instead; tests and small clients).
    return BeginUpload(request, config, sessions,
                       [body = request.body, respond = std::move(respond)](
                           std::unique_ptr<BodySink> sink, std::optional<HttpResponse> refusal) {
                         if (refusal) return respond(std::move(*refusal));
                         if (auto stop = sink->Write(body)) return respond(std::move(*stop));
                         sink->Finish(respond);
                       });
  }
  if (IsFileRoute(path)) return HandleFileRequest(request, config, sessions, std::move(respond));
  if (IsSessionRoute(path))
    return HandleSessionRequest(request, config, sessions, std::move(respond));
  if (path == kMcpPath) return HandleMcpRequest(request, config, sessions, std::move(respond));
  if (IsExecutionRoute(path))
    return HandleExecutionRequest(request, config, sessions, std::move(respond));
  if (IsV1Route(path)) return HandleV1Request(request, config, sessions, std::move(respond));
  if (IsUrlFileRoute(path))
    return HandleUrlFileRequest(request, config, sessions, std::move(respond));
  if (path == "/execute") {
    auto command = ParseExecute(request.body, config);
    if (!command) return respond(ErrorResponse(400, command.error().message));
    RunExecution(std::move(*command), ApiLayout::kSeed, request, config, sessions,
                 std::move(respond));
  } else if (path == "/release") {
    auto user = ParseUserBody(request.body, config);
    if (!user) return respond(ErrorResponse(400, user.error().message));
    const bool had = sessions.Release(*user);
    HttpResponse response;
    response.body =
        Dump(nlohmann::json{{"status", "ok"},
                            {"detail", had ? "Worker for user " + *user + " has been released."
                                           : "No worker was assigned to user " + *user + "."}});
    respond(std::move(response));
  } else if (path == "/interrupt") {
    auto user = ParseUserBody(request.body, config);
    if (!user) return respond(ErrorResponse(400, user.error().message));
    const bool running = sessions.Interrupt(*user);
    HttpResponse response;
    response.body = Dump(nlohmann::json{
        {"interrupted", running},
        {"detail", running ? "The running execution of user " + *user +
                                 " is being interrupted; its own response tells how it ended."
                           : "User " + *user + " has no execution running."}});
    respond(std::move(response));
  } else if (path == "/metrics") {
    HttpResponse response;
    response.content_type = kMetricsContentType;
    response.body = MetricsBody(sessions.Status());
    respond(std::move(response));
  } else if (path == "/status") {
    HttpResponse response;
    response.body = StatusBody(sessions.Status());
    respond(std::move(response));
  } else if (path == "/openapi.json") {
    HttpResponse response;
    response.body = kOpenApiJson;
    respond(std::move(response));
  } else if (path == "/docs") {
    HttpResponse response;
    response.content_type = "text/html; charset=utf-8";
    response.body = kApiDocsPage;
    response.headers.emplace_back("Content-Security-Policy",
                                  "default-src 'none'; script-src 'unsafe-inline'; style-src "
                                  "'unsafe-inline'; connect-src 'self'; base-uri 'none'; "
                                  "form-action 'none'");
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

std::span<const RouteInfo> Routes() { return kRoutes; }

std::string_view RequestPath(const HttpRequest& request) {
  const std::string_view target = request.target;
  return target.substr(0, target.find('?'));
}

std::optional<HttpResponse> WorkspaceRefusalResponse(const pool::WorkspaceGrant& grant) {
  switch (grant.refusal) {
    case pool::WorkspaceRefusal::kNone:
      return std::nullopt;
    case pool::WorkspaceRefusal::kUnavailable:
      return ErrorResponse(501, grant.detail);
    case pool::WorkspaceRefusal::kInvalid:
      return ErrorResponse(400, grant.detail);
    case pool::WorkspaceRefusal::kConflict:
      return ErrorResponse(409, grant.detail);
    case pool::WorkspaceRefusal::kFailed:
    case pool::WorkspaceRefusal::kShuttingDown: {
      HttpResponse response = ErrorResponse(503, grant.detail);
      if (grant.retry_after_seconds > 0)
        response.headers.emplace_back("Retry-After", std::to_string(grant.retry_after_seconds));
      return response;
    }
  }
  return ErrorResponse(500, "unknown workspace refusal");
}

bool IsStreamedUpload(const HttpRequest& head) {
  return (head.method == "PUT" && RequestPath(head) == "/files") ||
         (head.method == "POST" && RequestPath(head) == "/files/upload");
}

void BeginUpload(
    const HttpRequest& head, const RouterConfig& config, pool::Sessions& sessions,
    std::function<void(std::unique_ptr<BodySink>, std::optional<HttpResponse>)> ready) {
  if (auto refusal = CheckHead(head, config)) return ready(nullptr, std::move(*refusal));
  BeginFileUpload(head, config, sessions, std::move(ready));
}

}  // namespace gateway
