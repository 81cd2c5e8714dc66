#include "jupyter/execution.h"

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
    AppendStream(name == "stderr" ? result_.stderr_text : result_.stdout_text, text);
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
    ExecutionError error;
    error.ename = StringOr(content, "ename");
    error.evalue = StringOr(content, "evalue");
    std::size_t budget = limits_.max_text_bytes;
    const auto tb = content.find("traceback");
    if (tb != content.end() && tb->is_array()) {
      for (const json& line : *tb) {
        if (!line.is_string()) continue;
        std::string clean = common::StripAnsi(line.get_ref<const std::string&>());
        if (clean.size() > budget) {
          result_.truncated = true;
          break;
        }
        budget -= clean.size();
        error.traceback.push_back(std::move(clean));
      }
    }
    result_.error = std::move(error);
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

void OutputCollector::AppendStream(std::string& target, const std::string& text) {
  if (streams_cut_) return;  // once cut, later fragments would read as if nothing was lost
  const std::size_t room = limits_.max_text_bytes - text_bytes_;
  if (text.size() > room) {
    const std::string_view cut = common::TruncateUtf8(text, room);
    target.append(cut);
    text_bytes_ += cut.size();
    result_.truncated = true;
    streams_cut_ = true;
    return;
  }
  target += text;
  text_bytes_ += text.size();
}

void OutputCollector::AddBundle(std::string type, const json& content) {
  json entry = {{"type", std::move(type)}, {"data", json::object()}, {"metadata", json::object()}};
  const auto data = content.find("data");
  if (data != content.end() && data->is_object()) {
    for (const auto& [mime, value] : data->items()) {
      const std::size_t size = SizeOf(value) + mime.size();
      std::size_t& used = IsImage(mime) ? image_bytes_ : text_bytes_;
      const std::size_t cap = IsImage(mime) ? limits_.max_image_bytes : limits_.max_text_bytes;
      if (size > cap - used) {
        result_.truncated = true;
        continue;
      }
      used += size;
      entry["data"][mime] = value;
    }
  }
  const auto metadata = content.find("metadata");
  if (metadata != content.end() && metadata->is_object() && SizeOf(*metadata) <= 64 * 1024) {
    entry["metadata"] = *metadata;
  }
  if (entry["type"] == "execute_result") {
    const auto plain = entry["data"].find("text/plain");
    if (plain != entry["data"].end() && plain->is_string()) result_.result_text = *plain;
  }
  result_.outputs.push_back(std::move(entry));
}

void OutputCollector::ApplyPendingClear() {
  if (clear_pending_) Clear();
}

void OutputCollector::Clear() {
  clear_pending_ = false;
  result_.stdout_text.clear();
  result_.stderr_text.clear();
  result_.outputs = json::array();
  result_.result_text.clear();
  text_bytes_ = 0;
  image_bytes_ = 0;
  streams_cut_ = false;
}

}  // namespace jupyter
