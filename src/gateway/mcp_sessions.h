// McpSessions: the MCP endpoint's sessions (the Mcp-Session-Id an `initialize` hands out), each
// mapped to a code-interpreter session of its own (user "mcp-<id>"), so that calls in one MCP
// session share a kernel's state and files.
//
// Bounded: at most `max_sessions`; one unused for `idle` is forgotten, and its user handed back
// by TakeExpired for the caller to release (with the session's kernel and workspace).
// io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace gateway {

struct McpSessionConfig {
  std::size_t max_sessions = 256;
  std::chrono::seconds idle{60 * 60};  // the server uses the pool's --idle-timeout
};

class McpSessions {
 public:
  explicit McpSessions(McpSessionConfig config = {}) : config_(config) {}

  // A new session's id, or nullopt when there are max_sessions already.
  std::optional<std::string> Create();
  // The user of session `id` (marked as used now), or nullopt when unknown or idled out.
  std::optional<std::string> Find(const std::string& id);
  // Ends session `id`: its user (for the caller to release), or nullopt when unknown.
  std::optional<std::string> End(const std::string& id);
  // The users of sessions that idled out since the last call.
  std::vector<std::string> TakeExpired();
  std::size_t Size() const { return sessions_.size(); }

  static std::string UserOf(const std::string& id) { return "mcp-" + id; }

 private:
  void Prune();

  McpSessionConfig config_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> sessions_;  // last use
  std::vector<std::string> expired_;
};

}  // namespace gateway
