#include "jupyter/events.h"

namespace jupyter {

using nlohmann::json;

std::string_view EventName(EventKind kind) {
  switch (kind) {
    case EventKind::kStdout:
      return "stdout";
    case EventKind::kStderr:
      return "stderr";
    case EventKind::kDisplay:
      return "display";
    case EventKind::kResult:
      return "result";
    case EventKind::kError:
      return "error";
    case EventKind::kClear:
      return "clear";
  }
  return "unknown";
}

json EventData(const ExecutionEvent& event) {
  switch (event.kind) {
    case EventKind::kStdout:
    case EventKind::kStderr:
      return {{"text", event.text}};
    case EventKind::kDisplay:
      return event.bundle;
    case EventKind::kResult: {
      json data = event.bundle;
      data["execution_count"] = event.execution_count ? json(*event.execution_count) : json();
      return data;
    }
    case EventKind::kError:
      if (!event.error) return json::object();
      return {{"ename", event.error->ename},
              {"evalue", event.error->evalue},
              {"traceback", event.error->traceback}};
    case EventKind::kClear:
      return json::object();
  }
  return json::object();
}

void Fold(ExecutionResult& result, ExecutionEvent event) {
  switch (event.kind) {
    case EventKind::kStdout:
      result.stdout_text += event.text;
      return;
    case EventKind::kStderr:
      result.stderr_text += event.text;
      return;
    case EventKind::kResult: {
      const auto data = event.bundle.find("data");
      if (data != event.bundle.end() && data->is_object()) {
        const auto plain = data->find("text/plain");
        if (plain != data->end() && plain->is_string()) result.result_text = *plain;
      }
      if (event.execution_count) result.execution_count = event.execution_count;
      result.outputs.push_back(std::move(event.bundle));
      return;
    }
    case EventKind::kDisplay:
      result.outputs.push_back(std::move(event.bundle));
      return;
    case EventKind::kError:
      result.error = std::move(event.error);
      return;
    case EventKind::kClear:
      result.stdout_text.clear();
      result.stderr_text.clear();
      result.outputs = json::array();
      result.result_text.clear();
      return;
  }
}

}  // namespace jupyter
