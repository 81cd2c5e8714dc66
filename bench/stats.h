// Percentiles and a timing helper shared by the benchmark programs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

struct Stats {
  double p50, p90, p99, mean;
};

inline Stats Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) {
    return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))];
  };
  double sum = 0;
  for (double v : ms) sum += v;
  return {at(0.50), at(0.90), at(0.99), sum / static_cast<double>(ms.size())};
}

inline double Measure(const std::function<bool()>& once) {
  const auto start = Clock::now();
  if (!once()) {
    std::fprintf(stderr, "request failed\n");
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace bench
