// The original project's later file API (issue 11, item 3), same request and response shapes:
//   POST   /api/v1/files?user_uuid=U         {"files": [{"download_url", "path", "name"}]}
//          -> 201 {"success": true, "results": [{"full_path", "size"}]}
//   POST   /api/v1/files/export?user_uuid=U  {"files": [{"path", "name", "upload_url",
//          "upload_fields"?}]} -> 200 {"success": true, "results": [{"path", "name", "size"}]}
//   DELETE /api/v1/files?user_uuid=U         {"files": [{"path", "name"}]} -> 204
// The query may name the session's `environment` and `limits.FIELD`s as the file routes do
// (file_routes.h), for a call that creates the session. `path` is a directory under /sandbox and
// `name` a file name in it. Request validation errors (a missing field, a path outside /sandbox or
// with "..", a name with a path separator, more than kMaxUrlFiles files, a URL that is not http or
// https) get 422 with a `detail` list of {"type", "loc", "msg"}, as FastAPI answers, which the
// original's clients check. A batch in which some files failed answers with the first failure's
// status and
// {"success": false, "detail", "results" (the files that succeeded), "errors": [{"index",
// "full_path", "status", "detail"}]}; each file is atomic on its own.
// io thread only, like the router.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

inline constexpr std::size_t kMaxUrlFiles = 100;

bool IsUrlFileRoute(std::string_view path);

void HandleUrlFileRequest(const HttpRequest& request, const RouterConfig& config,
                          pool::Sessions& sessions, std::function<void(HttpResponse)> respond);

}  // namespace gateway
