// GET /metrics: the process's counters and histograms (common/metrics.h) and the pool's gauges
// read at scrape time, in the Prometheus text format. Authenticated like the API (a scraper
// sends the token as `Authorization: Bearer`). Pure, io thread.
#pragma once

#include <string>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string MetricsBody(const pool::PoolStatus& status);

}  // namespace gateway
