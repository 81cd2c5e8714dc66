// The workspace file routes (issue 11), called by the router once CheckHead has passed:
//   GET /files?user_uuid=U&path=P            the file, streamed (Range: one byte range)
//   GET /files/list?user_uuid=U&path=DIR     the directory's entries (bounded, says when cut)
//   DELETE /files?user_uuid=U&path=P         204 (a directory with recursive=true)
//   PUT /files?user_uuid=U&path=P            the raw body, streamed into an atomic write: 201
//   POST /files/upload?user_uuid=U&path=DIR  multipart/form-data (browsers): each file part
//                                            written as DIR/<its file name>, the same way: 201
// A call for a user without a session creates it (Sessions::OpenWorkspace), with the
// `environment` and `limits.FIELD` the query names (ParseSessionQuery; 400 for unknown or
// disallowed ones, 409 when the session exists with others). Paths are
// absolute under /sandbox or relative to it (workspace/client_path.h); the work on the
// workspace goes through ci_workspace, which never follows a link the kernel planted.
// Statuses: 400 bad query or path, 404 missing, 409 wrong type or a link (or other session
// options), 413 over max_file_bytes, 416 unsatisfiable range, 501 no workspaces on this backend,
// 503 none could be made (or shutting down), 507 the workspace is full. io thread only, like the
// router.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

bool IsFileRoute(std::string_view path);

// GET /files, GET /files/list, DELETE /files.
void HandleFileRequest(const HttpRequest& request, const RouterConfig& config,
                       pool::Sessions& sessions, std::function<void(HttpResponse)> respond);

// PUT /files and POST /files/upload: see BeginUpload in router.h.
void BeginFileUpload(
    const HttpRequest& head, const RouterConfig& config, pool::Sessions& sessions,
    std::function<void(std::unique_ptr<BodySink>, std::optional<HttpResponse>)> ready);

// POST /files/upload (called by BeginFileUpload).
void BeginFormUpload(
    const HttpRequest& head, const RouterConfig& config, pool::Sessions& sessions,
    std::function<void(std::unique_ptr<BodySink>, std::optional<HttpResponse>)> ready);

// Largest body an upload may have: the file for PUT, the whole form (its files, fields and
// framing) for POST /files/upload.
std::uint64_t UploadBodyLimit(const HttpRequest& head, const RouterConfig& config);

}  // namespace gateway
