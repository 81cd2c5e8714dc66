// Per-worker uids for one gateway instance: each instance (its scope, "i-<hash>") owns a range
// of kPerInstance uids starting at BaseFor(scope); worker slot n runs as base + n. Kernels of
// different workers, and of different instances on one host, never share a uid. Used by the
// namespaces and docker backends. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace sandbox {

class UidSlots {
 public:
  static constexpr unsigned kBase = 100000;
  static constexpr unsigned kPerInstance = 1000;
  static constexpr unsigned kRanges = 1000;

  // The first uid of `scope`'s range.
  static unsigned BaseFor(const std::string& scope);

  explicit UidSlots(const std::string& scope) : base_(BaseFor(scope)) {}
  unsigned Base() const { return base_; }

  // The lowest free uid, and a callable that frees it (safe to call after this is gone).
  std::pair<unsigned, std::function<void()>> Take() {
    unsigned slot = 0;
    {
      std::lock_guard lock(state_->mu);
      while (state_->used.contains(slot)) ++slot;
      state_->used.insert(slot);
    }
    return {base_ + slot, [state = state_, slot] {
              std::lock_guard lock(state->mu);
              state->used.erase(slot);
            }};
  }

 private:
  struct State {
    std::mutex mu;
    std::set<unsigned> used;  // guarded by mu
  };
  unsigned base_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace sandbox
