// What one execute_request produced, and the collector that builds it from the kernel's
// messages while enforcing output caps. Pure; used on the hub thread only.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jupyter/wire.h"

namespace jupyter {

struct OutputLimits {
  std::size_t max_text_bytes = 1 << 20;    // stdout + stderr + textual MIME data
  std::size_t max_image_bytes = 16 << 20;  // image/* MIME data (base64 or SVG text)
};

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
  bool disconnected = false;  // the kernel went away before the execution completed

  bool Complete() const { return got_reply && got_idle; }
  // The last image/png among outputs, or nullptr.
  const nlohmann::json* LastPng() const;
};

// Feeds on messages whose parent is the running execute_request.
class OutputCollector {
 public:
  explicit OutputCollector(OutputLimits limits) : limits_(limits) {}

  void OnIopub(const Message& message);
  void OnReply(const Message& message);

  ExecutionResult& result() { return result_; }

 private:
  void AppendStream(std::string& target, const std::string& text);
  void AddBundle(std::string type, const nlohmann::json& content);
  void ApplyPendingClear();
  void Clear();

  OutputLimits limits_;
  ExecutionResult result_;
  std::size_t text_bytes_ = 0;
  std::size_t image_bytes_ = 0;
  bool clear_pending_ = false;
  bool streams_cut_ = false;
};

}  // namespace jupyter
