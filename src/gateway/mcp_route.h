// POST /mcp and DELETE /mcp: the Model Context Protocol over its Streamable HTTP transport, for
// agent frameworks that call code-interpreter as a tool. JSON-RPC 2.0, one message per POST,
// answered with application/json (a request) or 202 (a notification or a response):
//   initialize        -> a new MCP session: its id in the Mcp-Session-Id header, to be sent with
//                        every later request (400 without it, 404 for one unknown or idled out)
//   ping, tools/list, tools/call (mcp_tools.h); other methods: -32601
//   DELETE /mcp       ends the session (Mcp-Session-Id) and releases its kernel and files: 204
// GET /mcp (a stream of server-initiated messages) is not offered: 405, which clients expect.
// The token is the API's (X-Auth-Token or Authorization: Bearer). Each MCP session is one
// code-interpreter session (McpSessions). io thread, as the router.
#pragma once

#include <functional>
#include <string_view>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

inline constexpr std::string_view kMcpPath = "/mcp";

void HandleMcpRequest(const HttpRequest& request, const RouterConfig& config,
                      pool::Sessions& sessions, std::function<void(HttpResponse)> respond);

}  // namespace gateway
