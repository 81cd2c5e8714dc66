// HubShards: spreads kernels over several transports (one KernelHub thread each), so that
// one gateway uses several cores for the kernels' traffic and a kernel flooding its hub
// shares that thread with fewer others.
//
// A kernel is placed on Connect, on the shard holding the fewest kernels, and stays there
// until Disconnect; every other call goes to its shard. A call for a kernel that is not
// connected goes to the first shard, which answers it as any hub answers an unknown kernel.
//
// Thread-safety: every method may be called from any thread (the placement table has its own
// lock, held only to look up or change a placement, never while a shard is called). Callbacks
// run wherever the shard posts them.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "jupyter/kernel_hub.h"

namespace jupyter {

class HubShards final : public KernelTransport {
 public:
  // `shards` must not be empty.
  explicit HubShards(std::vector<std::unique_ptr<KernelTransport>> shards);
  // N KernelHubs with the same options and Post.
  static std::unique_ptr<HubShards> Make(std::size_t count, const HubOptions& options,
                                         const KernelHub::Post& post);

  void Connect(KernelId id, const ConnectionInfo& info) override;
  void Disconnect(KernelId id) override;
  void WaitReady(KernelId id, std::chrono::milliseconds timeout,
                 std::function<void(common::Result<void>)> done) override;
  void Execute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
               std::function<void(ExecutionResult)> done) override;
  void Interrupt(KernelId id) override;
  void Shutdown(KernelId id) override;
  void Ping(KernelId id, std::chrono::milliseconds timeout,
            std::function<void(bool)> done) override;

  std::size_t size() const { return shards_.size(); }
  // Kernels placed on each shard (for tests and status).
  std::vector<std::size_t> Loads() const;

 private:
  KernelTransport& ShardOf(KernelId id);

  std::vector<std::unique_ptr<KernelTransport>> shards_;
  mutable std::mutex mutex_;
  std::unordered_map<KernelId, std::size_t> placement_;  // guarded by mutex_
  std::vector<std::size_t> loads_;                       // guarded by mutex_
};

}  // namespace jupyter
