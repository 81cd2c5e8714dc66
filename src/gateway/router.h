// The HTTP API as a pure function: HandleRequest(request) -> response, apart from calls into
// the Sessions interface. Knows routes, auth and JSON; knows nothing about sockets (the
// Beast session in http_server.cc does the I/O) or processes (the pool does).
// Called on the io thread; `respond` is called exactly once, possibly later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "gateway/cors.h"
#include "pool/sessions.h"

namespace gateway {

class UrlTransfers;       // url_transfers.h
class ExecutionRegistry;  // execution_registry.h
class McpSessions;        // mcp_sessions.h
class ResponseStream;     // response_stream.h

struct HttpRequest {
  std::string method;                     // "GET", "POST", ...
  std::string target;                     // path, possibly with a query string
  std::optional<std::string> auth_token;  // X-Auth-Token, when present
  std::string body;      // empty for a streamed upload (its bytes go to a BodySink)
  std::uint64_t id = 0;  // unique per server run; lets the connection abandon the request
  std::optional<std::string> range;  // Range, when present
  std::string content_type;          // Content-Type ("" when absent)
  std::string origin;                // Origin ("" when absent), for CORS
  std::string accept;                // Accept ("" when absent): asks for a streamed response
  std::optional<std::string> last_event_id;  // Last-Event-ID, when present (a reconnect)
  std::string mcp_session;                   // Mcp-Session-Id ("" when absent)
  std::string mcp_protocol_version;          // MCP-Protocol-Version ("" when absent)
};

// Bytes of a file sent after the response's head instead of `body` (downloads).
struct ResponseFile {
  common::UniqueFd fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // the Content-Length; a file that shrank meanwhile is cut off
  std::shared_ptr<const void> keep_alive;  // what must live while it is sent (the workspace)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<ResponseFile> file;  // set: streamed from the file, `body` ignored
  // Set: a streamed response of unknown length (events), written in chunks as its producer
  // queues them, `body` ignored. The connection says when the client is gone.
  std::shared_ptr<ResponseStream> stream;
};

// Takes a streamed request body (uploads) chunk by chunk, on the io thread. Destroyed
// without Finish (the client went away, the body was too large), it leaves nothing behind.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next bytes of the body. A response ends the upload at once: it is the answer, and
  // the rest of the body is not read.
  virtual std::optional<HttpResponse> Write(std::string_view chunk) = 0;
  // The whole body has arrived; `respond` is called exactly once, possibly later.
  virtual void Finish(std::function<void(HttpResponse)> respond) = 0;
};

struct RouterConfig {
  std::string token;
  std::chrono::milliseconds max_exec_timeout{300 * 1000};
  std::size_t max_user_bytes = 256;
  std::uint64_t max_file_bytes = 100ull << 20;  // per uploaded file (--max-file-mb)
  std::size_t max_list_entries = 1000;          // per GET /files/list
  // URL import and export (/api/v1/files); null: those routes answer 501.
  std::shared_ptr<UrlTransfers> url_transfers = nullptr;
  // Detached executions (/executions); null: those routes answer 501.
  std::shared_ptr<ExecutionRegistry> executions = nullptr;
  std::size_t max_stream_pending_bytes = 4u << 20;  // per streamed response not yet sent
  // The MCP endpoint's sessions (POST /mcp); null: it answers 501.
  std::shared_ptr<McpSessions> mcp = nullptr;
  // Which pages on other origins may call the API. The connection adds the headers to every
  // response; CheckHead answers preflights.
  CorsConfig cors{};
};

void HandleRequest(const HttpRequest& request, const RouterConfig& config, pool::Sessions& sessions,
                   std::function<void(HttpResponse)> respond);

// The refusal that the request line and headers alone decide (404 unknown path, 405 wrong
// method, 401 missing or wrong token), or the answer to a CORS preflight (OPTIONS on a known
// path, never authenticated: browsers send no token with it), or nullopt. `head.body` is ignored:
// the connection calls this before it reads a body, so nobody without the token makes the gateway
// hold one. HandleRequest applies the same checks first.
std::optional<HttpResponse> CheckHead(const HttpRequest& head, const RouterConfig& config);

// True for a request whose body is streamed to a BodySink (PUT /files, POST /files/upload)
// rather than read whole: the connection calls BeginUpload once CheckHead has passed.
bool IsStreamedUpload(const HttpRequest& head);
// Validates the upload's head and opens its destination; `ready` gets the sink, or the
// response that refuses the upload (its body is then not read).
void BeginUpload(const HttpRequest& head, const RouterConfig& config, pool::Sessions& sessions,
                 std::function<void(std::unique_ptr<BodySink>, std::optional<HttpResponse>)> ready);

// A route the router serves: a path ("/x/*": any one or more characters after "/x/"), its
// methods (space-separated, as the Allow header lists them) and whether it needs the token.
struct RouteInfo {
  std::string_view path;
  std::string_view methods;
  bool needs_auth = true;
};
std::span<const RouteInfo> Routes();

// The request's path: its target without the query string.
std::string_view RequestPath(const HttpRequest& request);

// The answer to a workspace request the sessions refused (501 for a backend without
// workspaces, 503 with Retry-After otherwise), or nullopt when `grant` was granted.
std::optional<HttpResponse> WorkspaceRefusalResponse(const pool::WorkspaceGrant& grant);

// A JSON error response {"detail": ...}.
HttpResponse ErrorResponse(int status, std::string detail);

// The HTML test page served at GET /.
extern const char* const kTestPage;

}  // namespace gateway
