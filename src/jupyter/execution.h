// The collector that turns the kernel's messages for one execute_request into events
// (events.h) while enforcing output caps, and folds them into the ExecutionResult
// (execution_result.h). Pure; used on the hub thread only.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jupyter/events.h"
#include "jupyter/execution_result.h"
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

// Called with each event as it is made, on the collector's thread.
using EventSink = std::function<void(const ExecutionEvent&)>;

// Feeds on messages whose parent is the running execute_request. Each budgeted piece of output
// becomes an event, handed to the sink (if any) and folded into result().
class OutputCollector {
 public:
  explicit OutputCollector(OutputLimits limits, EventSink sink = {})
      : limits_(limits), sink_(std::move(sink)) {}

  void OnIopub(const Message& message);
  void OnReply(const Message& message);

  ExecutionResult& result() { return result_; }

 private:
  void Emit(ExecutionEvent event);
  void AppendStream(EventKind kind, const std::string& text);
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
  EventSink sink_;
  ExecutionResult result_;
  std::size_t text_bytes_ = 0;
  std::size_t image_bytes_ = 0;
  std::size_t total_bytes_ = 0;
  bool clear_pending_ = false;
  bool streams_cut_ = false;
};

}  // namespace jupyter
