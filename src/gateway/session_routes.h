// The session routes: POST /sessions {"user_uuid", "environment"?} creates a session
// explicitly (201; 409 when the user has one; 400 for an unknown environment, listing the
// known ones), GET /sessions/{user_uuid} describes one (404 when there is none). Pure
// request -> response over the Sessions interface; io thread, as the router.
#pragma once

#include <functional>
#include <string_view>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

inline constexpr std::string_view kSessionsPath = "/sessions";

// True for /sessions and /sessions/<anything>.
bool IsSessionRoute(std::string_view path);

void HandleSessionRequest(const HttpRequest& request, const RouterConfig& config,
                          pool::Sessions& sessions, std::function<void(HttpResponse)> respond);

}  // namespace gateway
