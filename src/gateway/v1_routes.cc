#include "gateway/v1_routes.h"

#include <nlohmann/json.hpp>

#include "gateway/api.h"
#include "gateway/execution_routes.h"
#include "gateway/query.h"
#include "gateway/violations.h"

namespace gateway {
namespace {

using nlohmann::json;

// Where in the body a parse error points: "Field 'code' is required" -> ["body", "code"].
json BodyLoc(const std::string& message) {
  constexpr std::string_view kField = "Field '";
  json loc = json::array({"body"});
  if (!message.starts_with(kField)) return loc;
  const std::size_t end = message.find('\'', kField.size());
  if (end == std::string::npos) return loc;
  std::string field = message.substr(kField.size(), end - kField.size());
  for (std::size_t dot; (dot = field.find('.')) != std::string::npos;) {
    loc.push_back(field.substr(0, dot));
    field.erase(0, dot + 1);
  }
  loc.push_back(field);
  return loc;
}

void Execute(const HttpRequest& request, const RouterConfig& config, pool::Sessions& sessions,
             std::function<void(HttpResponse)> respond) {
  Violations violations;
  const std::string user = QueryUser(ParseQuery(request.target), config, violations);
  auto body = ParseBodyObject(request.body);
  if (!body) violations.Add(json::array({"body"}), body.error().message, "json_invalid");
  if (violations.Any()) return respond(violations.Response());
  (*body)["user_uuid"] = user;  // the query names the user; the body does not
  auto command = ParseExecute(*body, config);
  if (!command) {
    violations.Add(BodyLoc(command.error().message), command.error().message);
    return respond(violations.Response());
  }
  RunExecution(std::move(*command), ApiLayout::kV1, request, config, sessions, std::move(respond));
}

}  // namespace

bool IsV1Route(std::string_view path) {
  return path == "/api/v1/execute" || path == "/api/v1/release" || path == "/api/v1/status";
}

void HandleV1Request(const HttpRequest& request, const RouterConfig& config,
                     pool::Sessions& sessions, std::function<void(HttpResponse)> respond) {
  const std::string_view path = RequestPath(request);
  if (path == "/api/v1/execute") return Execute(request, config, sessions, std::move(respond));
  if (path == "/api/v1/release") {
    Violations violations;
    const std::string user = QueryUser(ParseQuery(request.target), config, violations);
    if (violations.Any()) return respond(violations.Response());
    sessions.Release(user);
    HttpResponse response;
    response.status = 204;
    response.content_type.clear();
    return respond(std::move(response));
  }
  HttpResponse response;
  response.body = StatusBody(sessions.Status());
  respond(std::move(response));
}

}  // namespace gateway
