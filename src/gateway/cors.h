// Cross-origin access for browsers (pages on other origins, or opened from file://, whose
// origin is "null"): which origins may read our responses, the headers that say so, and the
// answer to a preflight. The token travels in the X-Auth-Token header, never in a cookie, so
// allowing an origin lets its pages call the API only with a token they were given; no
// credentials mode is offered. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gateway {

struct HttpResponse;  // router.h

struct CorsConfig {
  // Origins allowed to read responses, as browsers send them ("https://a.example", "null");
  // "*" allows every origin. Empty: no CORS headers at all, and preflights are refused.
  std::vector<std::string> origins = {"*"};
};

// The Access-Control-Allow-Origin value for a request from `origin` ("" when the request
// had no Origin header), or "" when that origin is not allowed.
std::string AllowedOrigin(const CorsConfig& config, std::string_view origin);

// Adds the headers every response carries for an allowed origin (and Vary: Origin whenever
// the answer depends on it).
void AddCorsHeaders(HttpResponse& response, const CorsConfig& config, std::string_view origin);

// The answer to a preflight (OPTIONS) for a route that allows `methods` (as the Allow header
// lists them): 204 with the methods and the request headers the API reads, or 403 when the
// origin is not allowed.
HttpResponse PreflightResponse(const CorsConfig& config, std::string_view origin,
                               const std::string& methods);

}  // namespace gateway
