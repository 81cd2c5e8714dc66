#include "jupyter/hub_shards.h"

#include <algorithm>
#include <utility>

namespace jupyter {

HubShards::HubShards(std::vector<std::unique_ptr<KernelTransport>> shards)
    : shards_(std::move(shards)), loads_(shards_.size(), 0) {}

std::unique_ptr<HubShards> HubShards::Make(std::size_t count, const HubOptions& options,
                                           const KernelHub::Post& post) {
  std::vector<std::unique_ptr<KernelTransport>> shards;
  for (std::size_t i = 0; i < std::max<std::size_t>(count, 1); ++i) {
    shards.push_back(std::make_unique<KernelHub>(options, post));
  }
  return std::make_unique<HubShards>(std::move(shards));
}

void HubShards::Connect(KernelId id, const ConnectionInfo& info) {
  std::size_t shard = 0;
  {
    const std::lock_guard lock(mutex_);
    if (const auto it = placement_.find(id); it != placement_.end()) {
      shard = it->second;  // connected twice: the shard says what that means
    } else {
      shard =
          static_cast<std::size_t>(std::min_element(loads_.begin(), loads_.end()) - loads_.begin());
      placement_.emplace(id, shard);
      ++loads_[shard];
    }
  }
  shards_[shard]->Connect(id, info);
}

void HubShards::Disconnect(KernelId id) {
  std::size_t shard = 0;
  {
    const std::lock_guard lock(mutex_);
    if (const auto it = placement_.find(id); it != placement_.end()) {
      shard = it->second;
      --loads_[shard];
      placement_.erase(it);
    }
  }
  shards_[shard]->Disconnect(id);
}

void HubShards::WaitReady(KernelId id, std::chrono::milliseconds timeout,
                          std::function<void(common::Result<void>)> done) {
  ShardOf(id).WaitReady(id, timeout, std::move(done));
}

void HubShards::Execute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
                        std::function<void(ExecutionResult)> done) {
  ShardOf(id).Execute(id, std::move(code), limits, std::move(on_event), std::move(done));
}

void HubShards::Interrupt(KernelId id) { ShardOf(id).Interrupt(id); }

void HubShards::Shutdown(KernelId id) { ShardOf(id).Shutdown(id); }

void HubShards::Ping(KernelId id, std::chrono::milliseconds timeout,
                     std::function<void(bool)> done) {
  ShardOf(id).Ping(id, timeout, std::move(done));
}

std::vector<std::size_t> HubShards::Loads() const {
  const std::lock_guard lock(mutex_);
  return loads_;
}

KernelTransport& HubShards::ShardOf(KernelId id) {
  const std::lock_guard lock(mutex_);
  const auto it = placement_.find(id);
  return *shards_[it == placement_.end() ? 0 : it->second];
}

}  // namespace jupyter
