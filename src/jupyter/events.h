// The events of one execution, as the kernel's output turns into them once it has been budgeted
// (OutputCollector, execution.h), and the fold that builds an ExecutionResult from them.
//
// Every consumer reads the same events: the plain /execute response is their fold (Fold, the
// same code the collector uses for its own result), a streamed response sends them as they
// come, and a detached execution keeps them for replay. An event carries only what fit the
// execution's caps; what was cut shows as `truncated` in the result, never as a gap.
// Pure values; safe to copy between threads.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "jupyter/execution_result.h"

namespace jupyter {

enum class EventKind {
  kStdout,   // text: a chunk of the cell's standard output
  kStderr,   // text: a chunk of its standard error
  kDisplay,  // bundle: a display_data or update_display_data output
  kResult,   // bundle: the execute_result output; execution_count
  kError,    // error: the exception the cell raised
  kClear,    // clear_output: everything shown so far is cleared (IPython.display.clear_output)
};

struct ExecutionEvent {
  EventKind kind = EventKind::kStdout;
  std::string text{};                          // kStdout, kStderr
  nlohmann::json bundle{};                     // kDisplay, kResult: {"type", "data", "metadata"}
  std::optional<long long> execution_count{};  // kResult, when the kernel gave one
  std::optional<ExecutionError> error{};       // kError
};

// The event's name as streamed: "stdout", "stderr", "display", "result", "error", "clear".
std::string_view EventName(EventKind kind);

// The event's payload as streamed: {"text"} for stdout and stderr, the bundle for display and
// result (plus "execution_count"), {"ename", "evalue", "traceback"} for error, {} for clear.
nlohmann::json EventData(const ExecutionEvent& event);

// Applies `event` to `result`, as the non-streamed response shows it.
void Fold(ExecutionResult& result, ExecutionEvent event);

}  // namespace jupyter
