// The clock the benchmark programs time with, and two ways to read it.
#pragma once

#include <chrono>
#include <functional>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Milliseconds that `once` took; a false return counts in `failures`.
inline double TimeOnce(const std::function<bool()>& once, int& failures) {
  const auto start = Clock::now();
  if (!once()) ++failures;
  return MsSince(start);
}

}  // namespace bench
