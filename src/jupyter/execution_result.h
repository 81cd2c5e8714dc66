// What one execute_request produced: the fold of its events (events.h), with the bookkeeping
// of how it ended. A plain value.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace jupyter {

struct ExecutionError {
  std::string ename;
  std::string evalue;
  std::vector<std::string> traceback;  // ANSI escapes removed
};

struct ExecutionResult {
  std::string status;  // execute_reply status: "ok", "error", "aborted"; empty when no reply came
  std::string stdout_text;
  std::string stderr_text;
  // Every display_data / execute_result / update_display_data in order:
  // {"type": ..., "data": {mime: value}, "metadata": {...}}.
  nlohmann::json outputs = nlohmann::json::array();
  std::string result_text;  // text/plain of the execute_result, if any
  std::optional<long long> execution_count;
  std::optional<ExecutionError> error;
  bool truncated = false;
  bool got_reply = false;
  bool got_idle = false;
  bool disconnected = false;      // the kernel went away before the execution completed
  std::string disconnect_reason;  // why, when the hub itself cut the kernel off

  bool Complete() const { return got_reply && got_idle; }
  // The last image/png among outputs, or nullptr.
  const nlohmann::json* LastPng() const;
};

}  // namespace jupyter
