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

// What one execution may keep. Everything counts against max_total_bytes: outputs with their
// MIME names and metadata, streams, the error's name, value and traceback, plus a fixed
// charge per output (so that a flood of empty outputs is bounded too); text and images
// count against their own caps as well. What does not fit is left out and the result says
// `truncated`.
struct OutputLimits {
  std::size_t max_text_bytes = 1 << 20;       // streams, textual MIME data, error value, traceback
  std::size_t max_image_bytes = 16 << 20;     // image/* MIME data (base64 or SVG text)
  std::size_t max_total_bytes = 18 << 20;     // all of it, metadata included
  std::size_t max_metadata_bytes = 64 << 10;  // one output's metadata; larger is left out
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
  bool disconnected = false;      // the kernel went away before the execution completed
  std::string disconnect_reason;  // why, when the hub itself cut the kernel off

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
  void SetError(const nlohmann::json& content);
  // Counts `bytes` against the total and against `used`/`cap` when given; false (and the
  // result truncated) when they do not fit, in which case nothing is counted.
  bool Charge(std::size_t bytes, std::size_t* used = nullptr, std::size_t cap = 0);
  // Like Charge, for text that may be cut: how many bytes of `size` fit.
  std::size_t Room(std::size_t size);
  void ApplyPendingClear();
  void Clear();

  OutputLimits limits_;
  ExecutionResult result_;
  std::size_t text_bytes_ = 0;
  std::size_t image_bytes_ = 0;
  std::size_t total_bytes_ = 0;
  bool clear_pending_ = false;
  bool streams_cut_ = false;
};

}  // namespace jupyter
