#include "gateway/mcp_route.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "gateway/api.h"
#include "gateway/mcp_sessions.h"
#include "gateway/mcp_tools.h"

namespace gateway {
namespace {

using nlohmann::json;

// Newest first: an initialize asking for another gets the newest.
constexpr std::array<std::string_view, 4> kProtocolVersions = {"2025-11-25", "2025-06-18",
                                                               "2025-03-26", "2024-11-05"};
constexpr int kParseError = -32700, kInvalidRequest = -32600, kMethodNotFound = -32601,
              kInvalidParams = -32602, kSessionError = -32001;

bool Supported(std::string_view version) {
  return std::ranges::find(kProtocolVersions, version) != kProtocolVersions.end();
}

HttpResponse RpcResponse(int status, json message) {
  HttpResponse response;
  response.status = status;
  response.body = Dump(message);
  return response;
}

HttpResponse RpcResult(const json& id, json result) {
  return RpcResponse(200, {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

// A JSON-RPC error. Sent with an HTTP error status (the transport's refusals), it carries the
// API's `detail` too, as every error body does (clients read no JSON-RPC from those).
HttpResponse RpcError(int status, const json& id, int code, std::string message) {
  json body = {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
  if (status >= 400) body["detail"] = std::move(message);
  return RpcResponse(status, std::move(body));
}

HttpResponse Accepted() {
  HttpResponse response;
  response.status = 202;
  response.content_type.clear();
  return response;
}

HttpResponse Initialize(const json& id, const json& params, McpSessions& mcp) {
  const std::string asked = params.is_object() && params.contains("protocolVersion") &&
                                    params["protocolVersion"].is_string()
                                ? params["protocolVersion"].get<std::string>()
                                : "";
  const auto session = mcp.Create();
  if (!session) {
    HttpResponse response =
        RpcError(503, id, kSessionError, "Too many MCP sessions are open; retry later");
    response.headers.emplace_back("Retry-After", "30");
    return response;
  }
  HttpResponse response = RpcResult(
      id, {{"protocolVersion", Supported(asked) ? asked : std::string(kProtocolVersions[0])},
           {"capabilities", {{"tools", {{"listChanged", false}}}}},
           {"serverInfo", {{"name", "code-interpreter"}, {"version", "0.1.0"}}},
           {"instructions",
            "Runs Python in a stateful Jupyter kernel of its own for this session: variables, "
            "imports and the files in /sandbox stay between execute_python calls until "
            "reset_session. Show plots with plt.show(): they come back as images."}});
  response.headers.emplace_back("Mcp-Session-Id", *session);
  return response;
}

}  // namespace

void HandleMcpRequest(const HttpRequest& request, const RouterConfig& config,
                      pool::Sessions& sessions, std::function<void(HttpResponse)> respond) {
  if (!config.mcp) return respond(ErrorResponse(501, "MCP is not enabled on this server"));
  McpSessions& mcp = *config.mcp;
  for (const std::string& user : mcp.TakeExpired()) sessions.Release(user);

  if (request.method == "DELETE") {
    if (request.mcp_session.empty())
      return respond(ErrorResponse(400, "Mcp-Session-Id header required"));
    const auto user = mcp.End(request.mcp_session);
    if (!user) return respond(ErrorResponse(404, "Unknown MCP session"));
    sessions.Release(*user);
    HttpResponse response;
    response.status = 204;
    response.content_type.clear();
    return respond(std::move(response));
  }

  const json message = json::parse(request.body, nullptr, false);
  if (message.is_discarded())
    return respond(RpcError(400, nullptr, kParseError, "Parse error: the body is not JSON"));
  const auto version = message.is_object() ? message.find("jsonrpc") : message.end();
  if (version == message.end() || *version != "2.0") {
    return respond(RpcError(400, nullptr, kInvalidRequest,
                            "Invalid request: one JSON-RPC 2.0 object per POST (no batches)"));
  }
  if (!message.contains("method")) return respond(Accepted());  // a response to us: none asked
  const json id = message.contains("id") ? message["id"] : json();
  const bool is_request = message.contains("id");
  if (is_request && !id.is_string() && !id.is_number_integer())
    return respond(RpcError(400, nullptr, kInvalidRequest, "Invalid request: a bad id"));
  if (!message["method"].is_string())
    return respond(RpcError(400, id, kInvalidRequest, "Invalid request: method must be a string"));
  const std::string method = message["method"];
  const json params = message.contains("params") ? message["params"] : json::object();
  if (!request.mcp_protocol_version.empty() && !Supported(request.mcp_protocol_version)) {
    return respond(RpcError(400, id, kInvalidRequest,
                            "Unsupported MCP-Protocol-Version " + request.mcp_protocol_version));
  }

  if (method == "initialize") {
    if (!is_request)
      return respond(RpcError(400, nullptr, kInvalidRequest, "initialize needs an id"));
    return respond(Initialize(id, params, mcp));
  }
  if (request.mcp_session.empty()) {
    return respond(
        RpcError(400, id, kSessionError, "Mcp-Session-Id header required (send initialize first)"));
  }
  const auto user = mcp.Find(request.mcp_session);
  if (!user) {
    return respond(
        RpcError(404, id, kSessionError, "Unknown or expired MCP session; initialize a new one"));
  }
  if (!is_request) return respond(Accepted());  // notifications: initialized, cancelled, ...
  if (method == "ping") return respond(RpcResult(id, json::object()));
  if (method == "tools/list") return respond(RpcResult(id, {{"tools", McpToolList()}}));
  if (method != "tools/call")
    return respond(RpcError(200, id, kMethodNotFound, "Method not found: " + method));
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string())
    return respond(RpcError(200, id, kInvalidParams, "tools/call needs params.name"));
  const std::string name = params["name"];
  if (!IsMcpTool(name)) return respond(RpcError(200, id, kInvalidParams, "Unknown tool: " + name));
  CallMcpTool(name, params.contains("arguments") ? params["arguments"] : json::object(), *user,
              request.id, config, sessions, [respond = std::move(respond), id](json result) {
                respond(RpcResult(id, std::move(result)));
              });
}

}  // namespace gateway
