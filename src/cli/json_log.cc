#include "cli/json_log.h"

#include <spdlog/details/log_msg.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace cli {
namespace {

using nlohmann::json;

// The digits right after `prefix` (the first occurrence followed by digits), or "".
std::string_view DigitsAfter(std::string_view text, std::string_view prefix) {
  for (std::size_t at = text.find(prefix); at != std::string_view::npos;
       at = text.find(prefix, at + 1)) {
    std::size_t end = at + prefix.size();
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end > at + prefix.size()) return text.substr(at + prefix.size(), end - at - prefix.size());
  }
  return {};
}

// The id after "execution ": the API's ("ex-" and hex digits) or the pool's own (digits).
std::string_view ExecutionIdAfter(std::string_view text) {
  constexpr std::string_view kPrefix = "execution ex-";
  if (const std::size_t at = text.find(kPrefix); at != std::string_view::npos) {
    std::size_t end = at + kPrefix.size();
    while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end > at + kPrefix.size()) return text.substr(at + 10, end - at - 10);
  }
  return DigitsAfter(text, "execution ");
}

std::string Utc(std::chrono::system_clock::time_point time) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(date) + millis;
}

}  // namespace

json JsonLogLine(std::string_view level, std::string_view text) {
  json line = {{"level", level}, {"event", text}};
  if (const std::size_t at = text.find("user \""); at != std::string_view::npos) {
    const std::size_t start = at + 6;
    if (const std::size_t end = text.find('"', start); end != std::string_view::npos)
      line["user"] = text.substr(start, end - start);
  }
  for (std::size_t at = text.find("w-"); at != std::string_view::npos;
       at = text.find("w-", at + 1)) {
    const bool starts_word = at == 0 || text[at - 1] == ' ' || text[at - 1] == '(';
    std::size_t end = at + 2;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (starts_word && end > at + 2) {
      line["worker"] = text.substr(at, end - at);
      break;
    }
  }
  if (const auto id = ExecutionIdAfter(text); !id.empty()) {
    if (id.starts_with("ex-")) {
      line["execution_id"] = id;
    } else {
      line["execution_id"] = std::stoull(std::string(id));
    }
  }
  if (const auto ms = DigitsAfter(text, " in "); !ms.empty()) {
    const std::size_t after = static_cast<std::size_t>(ms.data() - text.data()) + ms.size();
    if (text.substr(after).starts_with(" ms")) line["duration_ms"] = std::stoull(std::string(ms));
  }
  return line;
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto level = spdlog::level::to_string_view(msg.level);
  json line = JsonLogLine(std::string_view(level.data(), level.size()),
                          std::string_view(msg.payload.data(), msg.payload.size()));
  line["time"] = Utc(msg.time);
  const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  dest.append(text.data(), text.data() + text.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace cli
