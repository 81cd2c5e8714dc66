#include "gateway/mcp_sessions.h"

#include "common/crypto.h"

namespace gateway {

std::optional<std::string> McpSessions::Create() {
  Prune();
  if (sessions_.size() >= config_.max_sessions) return std::nullopt;
  auto id = common::RandomHex(16);
  if (!id) return std::nullopt;
  sessions_[*id] = std::chrono::steady_clock::now();
  return *id;
}

std::optional<std::string> McpSessions::Find(const std::string& id) {
  Prune();
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  it->second = std::chrono::steady_clock::now();
  return UserOf(id);
}

std::optional<std::string> McpSessions::End(const std::string& id) {
  if (sessions_.erase(id) == 0) return std::nullopt;
  return UserOf(id);
}

std::vector<std::string> McpSessions::TakeExpired() {
  Prune();
  std::vector<std::string> out;
  out.swap(expired_);
  return out;
}

void McpSessions::Prune() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second < config_.idle) {
      ++it;
      continue;
    }
    expired_.push_back(UserOf(it->first));
    it = sessions_.erase(it);
  }
}

}  // namespace gateway
