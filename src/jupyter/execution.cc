#include "jupyter/execution.h"

#include <algorithm>

#include "common/text.h"

namespace jupyter {
namespace {

using nlohmann::json;

std::string StringOr(const json& object, const char* name, std::string fallback = {}) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

bool IsImage(const std::string& mime) { return mime.rfind("image/", 0) == 0; }

std::size_t SizeOf(const json& value) {
  return value.is_string() ? value.get_ref<const std::string&>().size()
                           : value.dump(-1, ' ', false, json::error_handler_t::replace).size();
}

}  // namespace

const json* ExecutionResult::LastPng() const {
  const json* found = nullptr;
  for (const json& output : outputs) {
    const auto data = output.find("data");
    if (data == output.end() || !data->is_object()) continue;
    const auto png = data->find("image/png");
    if (png != data->end() && png->is_string()) found = &*png;
  }
  return found;
}

void OutputCollector::OnIopub(const Message& message) {
  const std::string type = message.MsgType();
  const json& content = message.content;
  if (type == "status") {
    if (StringOr(content, "execution_state") == "idle") result_.got_idle = true;
  } else if (type == "stream") {
    ApplyPendingClear();
    const std::string name = StringOr(content, "name");
    const std::string text = StringOr(content, "text");
    AppendStream(name == "stderr" ? EventKind::kStderr : EventKind::kStdout, text);
  } else if (type == "display_data" || type == "execute_result" || type == "update_display_data") {
    ApplyPendingClear();
    AddBundle(type, content);
    if (type == "execute_result") {
      const auto count = content.find("execution_count");
      if (count != content.end() && count->is_number_integer()) {
        result_.execution_count = count->get<long long>();
      }
    }
  } else if (type == "error") {
    SetError(content);
  } else if (type == "clear_output") {
    const auto wait = content.find("wait");
    if (wait != content.end() && wait->is_boolean() && wait->get<bool>()) {
      clear_pending_ = true;
    } else {
      Clear();
    }
  }
}

void OutputCollector::OnReply(const Message& message) {
  const json& content = message.content;
  result_.got_reply = true;
  result_.status = StringOr(content, "status", "error");
  const auto count = content.find("execution_count");
  if (count != content.end() && count->is_number_integer()) {
    result_.execution_count = count->get<long long>();
  }
  if (result_.status == "error" && !result_.error) {
    // The reply carries ename/evalue/traceback too; use it when no iopub error arrived.
    OnIopub([&] {
      Message error = message;
      error.header["msg_type"] = "error";
      return error;
    }());
  }
}

// Fixed charge per output entry against the total: its JSON frame and bookkeeping.
constexpr std::size_t kEntryCharge = 64;
constexpr std::size_t kMaxEnameBytes = 256;

bool OutputCollector::Charge(std::size_t bytes, std::size_t* used, std::size_t cap) {
  const bool fits =
      bytes <= limits_.max_total_bytes - std::min(total_bytes_, limits_.max_total_bytes) &&
      (used == nullptr || bytes <= cap - std::min(*used, cap));
  if (!fits) {
    result_.truncated = true;
    return false;
  }
  total_bytes_ += bytes;
  if (used != nullptr) *used += bytes;
  return true;
}

std::size_t OutputCollector::Room(std::size_t size) {
  const std::size_t room =
      std::min(limits_.max_text_bytes - std::min(text_bytes_, limits_.max_text_bytes),
               limits_.max_total_bytes - std::min(total_bytes_, limits_.max_total_bytes));
  if (size > room) result_.truncated = true;
  const std::size_t fits = std::min(size, room);
  text_bytes_ += fits;
  total_bytes_ += fits;
  return fits;
}

void OutputCollector::Emit(ExecutionEvent event) {
  if (sink_) sink_(event);
  Fold(result_, std::move(event));
}

void OutputCollector::AppendStream(EventKind kind, const std::string& text) {
  if (streams_cut_) return;  // once cut, later fragments would read as if nothing was lost
  const std::size_t fits = Room(text.size());
  std::string kept = fits < text.size() ? std::string(common::TruncateUtf8(text, fits)) : text;
  if (fits < text.size()) streams_cut_ = true;
  if (!kept.empty()) Emit({.kind = kind, .text = std::move(kept)});
}

void OutputCollector::AddBundle(std::string type, const json& content) {
  if (!Charge(kEntryCharge + type.size())) return;
  json entry = {{"type", std::move(type)}, {"data", json::object()}, {"metadata", json::object()}};
  const auto data = content.find("data");
  if (data != content.end() && data->is_object()) {
    for (const auto& [mime, value] : data->items()) {
      const bool image = IsImage(mime);
      if (!Charge(SizeOf(value) + mime.size(), image ? &image_bytes_ : &text_bytes_,
                  image ? limits_.max_image_bytes : limits_.max_text_bytes)) {
        continue;
      }
      entry["data"][mime] = value;
    }
  }
  const auto metadata = content.find("metadata");
  if (metadata != content.end() && metadata->is_object() && !metadata->empty()) {
    const std::size_t size = SizeOf(*metadata);
    if (size > limits_.max_metadata_bytes) {
      result_.truncated = true;
    } else if (Charge(size)) {
      entry["metadata"] = *metadata;
    }
  }
  ExecutionEvent event{.kind = EventKind::kDisplay, .bundle = std::move(entry)};
  if (event.bundle["type"] == "execute_result") {
    event.kind = EventKind::kResult;
    const auto count = content.find("execution_count");
    if (count != content.end() && count->is_number_integer())
      event.execution_count = count->get<long long>();
  }
  Emit(std::move(event));
}

// The error's value and traceback are text: they share the text cap with the streams (a
// 20 MB exception message is cut like a 20 MB print).
void OutputCollector::SetError(const json& content) {
  ExecutionError error;
  const auto cut = [&](std::string text, std::size_t max) {
    if (text.size() > max) {
      result_.truncated = true;
      text = std::string(common::TruncateUtf8(text, max));
    }
    const std::size_t fits = Room(text.size());
    return std::string(common::TruncateUtf8(text, fits));
  };
  error.ename = cut(StringOr(content, "ename"), kMaxEnameBytes);
  error.evalue = cut(StringOr(content, "evalue"), limits_.max_text_bytes);
  const auto tb = content.find("traceback");
  if (tb != content.end() && tb->is_array()) {
    for (const json& line : *tb) {
      if (!line.is_string()) continue;
      std::string clean = common::StripAnsi(line.get_ref<const std::string&>());
      const std::size_t fits = Room(clean.size());
      if (fits < clean.size()) {
        if (fits > 0) error.traceback.emplace_back(common::TruncateUtf8(clean, fits));
        break;
      }
      error.traceback.push_back(std::move(clean));
    }
  }
  Emit({.kind = EventKind::kError, .error = std::move(error)});
}

void OutputCollector::ApplyPendingClear() {
  if (clear_pending_) Clear();
}

void OutputCollector::Clear() {
  clear_pending_ = false;
  // Only when there is something to clear: a flood of clear_output adds no events.
  if (!result_.stdout_text.empty() || !result_.stderr_text.empty() || !result_.outputs.empty())
    Emit({.kind = EventKind::kClear});
  text_bytes_ = 0;
  image_bytes_ = 0;
  total_bytes_ = 0;
  streams_cut_ = false;
}

}  // namespace jupyter
