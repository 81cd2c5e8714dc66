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

// Parses {"user_uuid", "environment"?} (POST /sessions).
common::Result<std::pair<std::string, pool::SessionOptions>> ParseCreateSession(
    const std::string& body, const RouterConfig& config);

// The session options a file call may carry in its query: `environment=NAME` and one
// `limits.FIELD=NUMBER` per limit (the fields of /execute's `limits`), e.g.
// `?user_uuid=U&path=P&environment=minimal&limits.memory_mb=1024`.
common::Result<pool::SessionOptions> ParseSessionQuery(const QueryParams& params);

// Parses {"user_uuid"}.
common::Result<std::string> ParseRelease(const std::string& body, const RouterConfig& config);

// Status code, headers and body for an execution outcome. Takes the outcome by value: its
// output (up to the caps, possibly tens of MB) is moved into the body, not copied.
HttpResponse ExecuteResponse(pool::ExecuteOutcome outcome);

std::string StatusBody(const pool::PoolStatus& status);

// {"path": "/sandbox/..."} for a workspace path (bytes), plus "encoded_path" (the exact bytes,
// percent-encoded) when it is not valid UTF-8 (see workspace/client_path.h).
nlohmann::json PathFields(const std::string& display_path);

// The body of GET /files/list.
std::string ListingBody(const std::string& dir_display_path, const workspace::Listing& listing);

}  // namespace gateway
