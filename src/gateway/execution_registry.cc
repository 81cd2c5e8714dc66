#include "gateway/execution_registry.h"

#include <algorithm>
#include <vector>

namespace gateway {

std::shared_ptr<ExecutionRun> ExecutionRegistry::Create(std::string id, std::string user) {
  Prune(1);
  if (runs_.size() >= retention_.max_executions) return nullptr;
  auto run = std::make_shared<ExecutionRun>(id, std::move(user), retention_.max_events_bytes);
  runs_.emplace(std::move(id), run);
  return run;
}

std::shared_ptr<ExecutionRun> ExecutionRegistry::Find(const std::string& id) {
  Prune(0);
  const auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : it->second;
}

void ExecutionRegistry::Prune(std::size_t room_for) {
  const auto now = std::chrono::steady_clock::now();
  std::size_t total = 0;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> finished;
  for (auto it = runs_.begin(); it != runs_.end();) {
    const ExecutionRun& run = *it->second;
    if (run.state() == ExecutionRun::State::kDone) {
      if (now - run.finished() >= retention_.keep_finished) {
        it = runs_.erase(it);
        continue;
      }
      finished.emplace_back(run.finished(), it->first);
    }
    total += run.KeptBytes();
    ++it;
  }
  std::ranges::sort(finished);
  for (const auto& [when, id] : finished) {
    if (runs_.size() + room_for <= retention_.max_executions &&
        total <= retention_.max_total_bytes) {
      break;
    }
    const auto it = runs_.find(id);
    total -= it->second->KeptBytes();
    runs_.erase(it);
  }
}

}  // namespace gateway
