// The clock the benchmark programs time with.
#pragma once

#include <chrono>

namespace bench {

using Clock = std::chrono::steady_clock;

}  // namespace bench
