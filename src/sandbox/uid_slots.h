// Per-worker host uids for one gateway instance: each instance (its scope, "i-<hash>") owns a
// range of kPerInstance uids starting at BaseFor(scope). Worker slot n owns two of them: its
// kernel runs as base + n, and (namespaces backend) the root of its user namespace, the
// sandbox's init, is base + kSlots + n. Kernels of different workers, and of different
// instances on one host, never share a uid. Used by the namespaces and docker backends.
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace sandbox {

class UidSlots {
 public:
  static constexpr unsigned kBase = 100000;
  static constexpr unsigned kPerInstance = 1000;
  static constexpr unsigned kRanges = 1000;
  static constexpr unsigned kSlots = kPerInstance / 2;  // workers at once per instance

  struct Slot {
    unsigned kernel_uid;  // the kernel's host uid (and gid)
    unsigned root_uid;    // host uid of the sandbox's own root (its user namespace's uid 0)
    std::function<void()> release;  // frees the slot; safe to call after UidSlots is gone
  };

  // The first uid of `scope`'s range.
  static unsigned BaseFor(const std::string& scope);

  explicit UidSlots(const std::string& scope) : base_(BaseFor(scope)) {}
  unsigned Base() const { return base_; }

  // The lowest free slot; none when kSlots are taken (the pool's --max-workers is capped
  // at kSlots, so only workers whose containers outlived their release can exhaust it).
  std::optional<Slot> Take() {
    unsigned slot = 0;
    {
      std::lock_guard lock(state_->mu);
      while (state_->used.contains(slot)) ++slot;
      if (slot >= kSlots) return std::nullopt;
      state_->used.insert(slot);
    }
    return Slot{base_ + slot, base_ + kSlots + slot, [state = state_, slot] {
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
