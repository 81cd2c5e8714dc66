// LogBudget: how many log lines one source (e.g. one kernel) may write per second, so that a
// hostile source cannot make the log grow faster than a few lines a second. Lines over the
// budget are counted, and the next line written says how many were left out.
//
// Thread-safety: none; each source's budget belongs to the thread that logs for it.
#pragma once

#include <chrono>
#include <cstddef>

namespace common {

class LogBudget {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogBudget(std::size_t lines_per_second = 5) : per_second_(lines_per_second) {}

  // True when a line may be written now; otherwise the line is counted as suppressed.
  bool Allow(Clock::time_point now) {
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      written_ = 0;
    }
    if (written_ >= per_second_) {
      ++suppressed_;
      return false;
    }
    ++written_;
    return true;
  }

  // Lines suppressed since the last call; resets the count.
  std::size_t TakeSuppressed() {
    const std::size_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  std::size_t per_second_;
  Clock::time_point window_start_{};
  std::size_t written_ = 0;
  std::size_t suppressed_ = 0;
};

}  // namespace common
