// A session's `limits` as JSON: what a request names (POST /sessions, /execute) and what a
// session has (GET /sessions/{user}). Sizes in MiB, CPU in cores, timeouts in seconds. Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "pool/session_limits.h"

namespace gateway {

// The `limits` object of a request; an error for the client names the field. The bounds
// (the server's caps) are the pool's to check.
common::Result<pool::RequestedLimits> ParseLimits(const nlohmann::json& limits);

nlohmann::json LimitsJson(const pool::SessionLimits& limits);

}  // namespace gateway
