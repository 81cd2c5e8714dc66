// Name resolution for outbound fetches: once per request, with a deadline. Safe from any
// thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "fetch/address_policy.h"
#include "fetch/fetch_error.h"

namespace fetch {

// The addresses `host` resolves to (getaddrinfo, A and AAAA, TCP), deduplicated, in the
// resolver's order. getaddrinfo cannot be cancelled, so it runs on a thread of its own; when
// `deadline` passes first the call returns kTimeout and that thread finishes in the
// background (bounded by the resolver's own timeouts) and frees what it holds. Failures are
// kResolve.
FetchResult<std::vector<IpAddress>> ResolveOnce(const std::string& host,
                                                std::chrono::steady_clock::time_point deadline);

}  // namespace fetch
