#include "gateway/cors.h"

#include <algorithm>

#include "gateway/router.h"

namespace gateway {
namespace {

// What the API reads from a request and what a page may read from a response beyond the
// CORS-safelisted headers.
constexpr std::string_view kAllowedRequestHeaders =
    "X-Auth-Token, Authorization, Content-Type, Range, Last-Event-ID, Accept, Mcp-Session-Id, "
    "MCP-Protocol-Version";
constexpr std::string_view kExposedHeaders =
    "Retry-After, Content-Disposition, Content-Range, Accept-Ranges, Allow, Location, "
    "Mcp-Session-Id";
constexpr std::string_view kPreflightMaxAgeSeconds = "600";

bool AllowsAny(const CorsConfig& config) {
  return std::ranges::find(config.origins, "*") != config.origins.end();
}

}  // namespace

std::string AllowedOrigin(const CorsConfig& config, std::string_view origin) {
  if (AllowsAny(config)) return "*";
  if (origin.empty()) return {};
  return std::ranges::find(config.origins, origin) != config.origins.end() ? std::string(origin)
                                                                           : std::string();
}

void AddCorsHeaders(HttpResponse& response, const CorsConfig& config, std::string_view origin) {
  if (config.origins.empty()) return;
  if (!AllowsAny(config)) response.headers.emplace_back("Vary", "Origin");
  const std::string allowed = AllowedOrigin(config, origin);
  if (allowed.empty()) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", allowed);
  response.headers.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
}

HttpResponse PreflightResponse(const CorsConfig& config, std::string_view origin,
                               const std::string& methods) {
  if (AllowedOrigin(config, origin).empty()) {
    return ErrorResponse(403, "Cross-origin requests from this origin are not allowed");
  }
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  response.headers.emplace_back("Access-Control-Allow-Methods", methods);
  response.headers.emplace_back("Access-Control-Allow-Headers",
                                std::string(kAllowedRequestHeaders));
  response.headers.emplace_back("Access-Control-Max-Age", std::string(kPreflightMaxAgeSeconds));
  response.headers.emplace_back("Allow", methods + ", OPTIONS");
  return response;
}

}  // namespace gateway
