// RateBudget: a token bucket. A source may take `per_second` units a second on average and
// `burst` at once; taking more than is left leaves the bucket in debt, and the source is
// then held back until the debt is paid off by time.
//
// Thread-safety: none; each budget belongs to one thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace common {

class RateBudget {
 public:
  using Clock = std::chrono::steady_clock;

  RateBudget(double per_second, double burst)
      : per_second_(per_second), burst_(burst), tokens_(burst) {}

  void Take(std::size_t units, Clock::time_point now) {
    Refill(now);
    tokens_ -= static_cast<double>(units);
  }

  // The time from which the source may take again: `now` while the bucket is not in debt.
  Clock::time_point AvailableAt(Clock::time_point now) {
    Refill(now);
    if (tokens_ > 0) return now;
    const auto wait = std::chrono::duration<double>(-tokens_ / per_second_);
    return now + std::chrono::ceil<Clock::duration>(wait) + std::chrono::milliseconds(1);
  }

 private:
  void Refill(Clock::time_point now) {
    if (last_ != Clock::time_point{}) {
      const double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    }
    last_ = now;
  }

  double per_second_;
  double burst_;
  double tokens_;
  Clock::time_point last_{};
};

}  // namespace common
