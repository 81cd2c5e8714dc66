// The original's later layout, served beside the seed's so that its clients work unchanged:
//   POST /api/v1/execute?user_uuid=U  {"code", "timeout"?, "environment"?, "limits"?}
//   POST /api/v1/release?user_uuid=U  -> 204
//   GET  /api/v1/status
// Same token, same parsing and the same pool calls as /execute, /release and /status; what
// differs is the mapping of outcomes to status codes (ApiLayout::kV1, in api.cc) and that
// invalid input gets FastAPI's 422 (violations.h). (/api/v1/files is url_files.h.)
// Pure request -> response over the Sessions interface; io thread, as the router.
#pragma once

#include <functional>
#include <string_view>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

bool IsV1Route(std::string_view path);

void HandleV1Request(const HttpRequest& request, const RouterConfig& config,
                     pool::Sessions& sessions, std::function<void(HttpResponse)> respond);

}  // namespace gateway
