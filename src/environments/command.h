// Runs a helper program (the builder scripts) to completion with this process's stdin,
// stdout and stderr, so its progress reaches the operator's terminal as it happens. For the
// CLI only: it blocks, and it may be called from one thread at a time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace environments {

// Runs argv[0] (a path) with `argv` and this process's environment plus `env`; succeeds when
// the program exits with status 0, else says how it ended.
common::Result<void> RunCommand(const std::vector<std::string>& argv,
                                const std::map<std::string, std::string>& env = {});

}  // namespace environments
