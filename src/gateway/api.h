// JSON shapes of the HTTP API: request validation and response bodies. Pure functions.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "gateway/query.h"
#include "gateway/router.h"
#include "pool/sessions.h"
#include "workspace/listing.h"

namespace gateway {

// A response body: compact JSON, with bytes that are not UTF-8 (from a kernel, a file name)
// replaced rather than refused.
std::string Dump(const nlohmann::json& value);

// Parses {"user_uuid", "code", "timeout"?}; the error message is the response's detail.
common::Result<pool::ExecuteCommand> ParseExecute(const std::string& body,
                                                  const RouterConfig& config);
// The same from a body already parsed (the /api/v1 route adds the query's user_uuid).
common::Result<pool::ExecuteCommand> ParseExecute(const nlohmann::json& object,
                                                  const RouterConfig& config);
// A request body that must be a JSON object; the error says why it is not.
common::Result<nlohmann::json> ParseBodyObject(const std::string& body);

// Parses {"user_uuid", "environment"?} (POST /sessions).
common::Result<std::pair<std::string, pool::SessionOptions>> ParseCreateSession(
    const std::string& body, const RouterConfig& config);

// The session options a file call may carry in its query: `environment=NAME` and one
// `limits.FIELD=NUMBER` per limit (the fields of /execute's `limits`), e.g.
// `?user_uuid=U&path=P&environment=minimal&limits.memory_mb=1024`.
common::Result<pool::SessionOptions> ParseSessionQuery(const QueryParams& params);

// Parses {"user_uuid"} (POST /release, POST /interrupt).
common::Result<std::string> ParseUserBody(const std::string& body, const RouterConfig& config);

// The two layouts served side by side: the seed's routes (/execute, ...) and the original's
// later ones (/api/v1/execute?user_uuid=U, ...). They share every code path; only the status
// codes of outcomes differ (kV1: a Python exception is 200, a timeout or a dead kernel 503,
// invalid input 422), and kV1 adds `worker_id` and a Python exception's text in result_text.
enum class ApiLayout { kSeed, kV1 };

// Status code, headers and body for an execution outcome. Takes the outcome by value: its
// output (up to the caps, possibly tens of MB) is moved into the body, not copied.
// `execution_id` (when not empty) goes into every body, errors included.
HttpResponse ExecuteResponse(pool::ExecuteOutcome outcome, ApiLayout layout = ApiLayout::kSeed,
                             std::string_view execution_id = {});
// The `files` array of an execution's response (its workspace changes).
nlohmann::json FilesJson(const workspace::ChangeList& changes);

std::string StatusBody(const pool::PoolStatus& status);

// {"path": "/sandbox/..."} for a workspace path (bytes), plus "encoded_path" (the exact bytes,
// percent-encoded) when it is not valid UTF-8 (see workspace/client_path.h).
nlohmann::json PathFields(const std::string& display_path);

// The body of GET /files/list.
std::string ListingBody(const std::string& dir_display_path, const workspace::Listing& listing);

}  // namespace gateway
