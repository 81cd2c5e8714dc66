#include "gateway/session_routes.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "gateway/api.h"
#include "gateway/limits_json.h"
#include "gateway/query.h"

namespace gateway {
namespace {

using nlohmann::json;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::round(std::chrono::duration<double>(d).count() * 10) / 10;
}

json SessionJson(const pool::SessionInfo& s) {
  return {{"user_uuid", s.user},
          {"environment", s.environment},
          {"limits", LimitsJson(s.limits)},
          {"age_seconds", Seconds(s.age)},
          {"idle_seconds", Seconds(s.idle)},
          {"has_worker", s.has_worker},
          {"executing", s.executing},
          {"queued", s.queued},
          {"executions", s.executions},
          {"usage",
           {{"cpu_ms", std::round(s.cpu_ms * 10) / 10},
            {"peak_memory_mb", std::round(s.peak_memory_mb * 10) / 10}}}};
}

HttpResponse Describe(const pool::Sessions& sessions, const std::string& user, int status) {
  const auto info = sessions.Describe(user);
  if (!info) return ErrorResponse(404, "No session for this user");
  HttpResponse response;
  response.status = status;
  response.body = Dump(SessionJson(*info));
  return response;
}

}  // namespace

bool IsSessionRoute(std::string_view path) {
  return path == kSessionsPath ||
         (path.starts_with(kSessionsPath) && path.size() > kSessionsPath.size() &&
          path[kSessionsPath.size()] == '/');
}

void HandleSessionRequest(const HttpRequest& request, const RouterConfig& config,
                          pool::Sessions& sessions, std::function<void(HttpResponse)> respond) {
  const std::string_view path = RequestPath(request);
  if (path != kSessionsPath) {
    // A path segment: '+' is itself there, not a space.
    std::string segment(path.substr(kSessionsPath.size() + 1));
    for (std::size_t at = segment.find('+'); at != std::string::npos; at = segment.find('+', at))
      segment.replace(at, 1, "%2B");
    const std::string user = PercentDecode(segment);
    if (user.empty() || user.size() > config.max_user_bytes || user.find('\0') != std::string::npos)
      return respond(ErrorResponse(400, "Invalid user_uuid in the path"));
    return respond(Describe(sessions, user, 200));
  }
  auto parsed = ParseCreateSession(request.body, config);
  if (!parsed) return respond(ErrorResponse(400, parsed.error().message));
  const auto& [user, options] = *parsed;
  std::string detail;
  switch (sessions.CreateSession(user, options, detail)) {
    case pool::SessionCreated::kCreated:
      return respond(Describe(sessions, user, 201));
    case pool::SessionCreated::kExists: {
      json body{{"detail", detail}};
      if (const auto info = sessions.Describe(user)) body["session"] = SessionJson(*info);
      HttpResponse response;
      response.status = 409;
      response.body = Dump(body);
      return respond(std::move(response));
    }
    case pool::SessionCreated::kInvalid:
      return respond(ErrorResponse(400, detail));
    case pool::SessionCreated::kShuttingDown:
      return respond(ErrorResponse(503, detail));
  }
}

}  // namespace gateway
