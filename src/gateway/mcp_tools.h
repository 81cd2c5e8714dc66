// The MCP endpoint's tools, over the same code paths as the HTTP API (the pool for code, the
// file routes for files), each call on behalf of one MCP session's user:
//   execute_python {code, timeout?}  text (stdout, the value, stderr, the error) plus one image
//                                    content per PNG/JPEG; isError for an exception, a timeout,
//                                    a lost kernel or a refusal
//   upload_file {path, content}      content base64; written into /sandbox (atomic, as PUT /files)
//   download_file {path}             the file: text when it is UTF-8 text, an image for images,
//                                    else an embedded resource (base64 blob); at most 8 MiB
//   list_files {path?}               the directory's entries (default /sandbox)
//   reset_session {}                 releases the session: a fresh kernel and workspace next time
// A call's `done` gets an MCP CallToolResult ({"content": [...], "isError": bool}); invalid
// arguments are tool errors (the model can correct them), not protocol errors.
// io thread, as the router.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

// The tools/list result's "tools".
const nlohmann::json& McpToolList();
bool IsMcpTool(std::string_view name);

// `ticket`: the HTTP request's id, so that a client hanging up abandons the execution.
void CallMcpTool(std::string_view name, const nlohmann::json& arguments, const std::string& user,
                 std::uint64_t ticket, const RouterConfig& config, pool::Sessions& sessions,
                 std::function<void(nlohmann::json)> done);

}  // namespace gateway
