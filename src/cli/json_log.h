// --log-format=json: one JSON object per log line for log shippers, beside the default text
// lines. Every object has "time" (UTC, ISO 8601 with milliseconds), "level" and "event" (the
// line's text, whole); the fields the gateway's messages name by convention are lifted out
// as well: "user" (from `user "..."`, already escaped by common::Printable), "worker"
// (`w-<n>`), "execution_id" (`execution ex-<hex>`, the API's, or `execution <n>`) and "duration_ms"
// (`in <n> ms`). The formatter is spdlog's: it runs on whichever thread logs, and keeps no state.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

namespace cli {

class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// The object for one line (exposed for its unit test).
nlohmann::json JsonLogLine(std::string_view level, std::string_view text);

}  // namespace cli
