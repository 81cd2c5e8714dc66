// Which environments `serve` offers and how many warm workers each keeps, from
// --environment, --min-idle and the store of built environments (environments/store.h).
// Called once at start, on the main thread.
#pragma once

#include <vector>

#include "cli/options.h"
#include "common/result.h"
#include "pool/pool_config.h"

namespace cli {

// --environment names them, the first being the default ("host": the host's own system).
// Without it: "python" when it is built (and imported, for --sandbox=docker), else "host",
// with a warning. A named environment that is not built (or has no image, for docker) is an
// error that says how to build it; --sandbox=none offers "host" only. --min-idle entries are
// "N" (the default environment) or "NAME=N"; the others keep none warm unless named.
common::Result<std::vector<pool::EnvironmentConfig>> ResolveEnvironments(const ServeOptions& o);

}  // namespace cli
