// ExecutionRegistry: the detached executions (POST /executions) by id, kept while they run and
// for a bounded time after they end, so that a client can poll them, follow their events and
// reconnect (GET /executions/{id}, /events).
//
// Bounded in count and bytes: a finished run is forgotten `keep_finished` after it ended, or
// sooner (oldest first) when the registry holds more than `max_executions` runs or more than
// `max_total_bytes` of kept events; running ones are never forgotten, so Create refuses (nullptr)
// when the registry is full of running executions.
// io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "gateway/execution_run.h"

namespace gateway {

struct ExecutionRetention {
  std::size_t max_executions = 128;         // queued, running and finished
  std::size_t max_events_bytes = 2u << 20;  // per execution (ExecutionRun's max_kept_bytes)
  std::size_t max_total_bytes = 256u << 20;
  std::chrono::seconds keep_finished{600};
};

class ExecutionRegistry {
 public:
  explicit ExecutionRegistry(ExecutionRetention retention = {}) : retention_(retention) {}
  ExecutionRegistry(const ExecutionRegistry&) = delete;
  ExecutionRegistry& operator=(const ExecutionRegistry&) = delete;

  // A new run for `user` under `id`, or nullptr when the registry is full of running ones.
  std::shared_ptr<ExecutionRun> Create(std::string id, std::string user);
  // The run, or nullptr when unknown or forgotten.
  std::shared_ptr<ExecutionRun> Find(const std::string& id);
  std::size_t Size() const { return runs_.size(); }
  const ExecutionRetention& retention() const { return retention_; }

 private:
  // Forgets the expired finished runs, then the oldest finished ones while over a bound.
  void Prune(std::size_t room_for);

  ExecutionRetention retention_;
  std::unordered_map<std::string, std::shared_ptr<ExecutionRun>> runs_;
};

}  // namespace gateway
