#include "gateway/limits_json.h"

#include <chrono>
#include <cmath>
#include <string>

namespace gateway {
namespace {

using nlohmann::json;

constexpr const char* kKnown = "memory_mb, cpus, pids, workspace_mb, timeout, max_timeout";

common::Error Bad(const std::string& field, const char* what) {
  return common::Error{"Field 'limits." + field + "' must be " + what};
}

common::Result<std::uint64_t> Whole(const json& value, const std::string& field) {
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0)
    return std::unexpected(Bad(field, "a positive integer"));
  return value.get<std::uint64_t>();
}

common::Result<double> Positive(const json& value, const std::string& field, const char* what) {
  if (!value.is_number()) return std::unexpected(Bad(field, what));
  const double number = value.get<double>();
  if (!std::isfinite(number) || number <= 0 || number > 1e9)
    return std::unexpected(Bad(field, what));
  return number;
}

}  // namespace

common::Result<pool::RequestedLimits> ParseLimits(const json& limits) {
  if (!limits.is_object()) return common::Fail("Field 'limits' must be an object");
  pool::RequestedLimits requested;
  for (const auto& [key, value] : limits.items()) {
    if (value.is_null()) continue;
    if (key == "memory_mb" || key == "pids" || key == "workspace_mb") {
      auto number = Whole(value, key);
      if (!number) return std::unexpected(number.error());
      (key == "memory_mb" ? requested.memory_mb
       : key == "pids"    ? requested.pids
                          : requested.workspace_mb) = *number;
    } else if (key == "cpus") {
      auto cpus = Positive(value, key, "a positive number of cores");
      if (!cpus) return std::unexpected(cpus.error());
      requested.cpus = *cpus;
    } else if (key == "timeout" || key == "max_timeout") {
      auto seconds = Positive(value, key, "a positive number of seconds");
      if (!seconds) return std::unexpected(seconds.error());
      const std::chrono::milliseconds ms(static_cast<long long>(std::ceil(*seconds * 1000.0)));
      (key == "timeout" ? requested.timeout : requested.max_timeout) = ms;
    } else {
      std::string shown = key.substr(0, 64);
      return common::Fail("Unknown field 'limits." + shown + "'; known: " + kKnown);
    }
  }
  return requested;
}

json LimitsJson(const pool::SessionLimits& limits) {
  const auto seconds = [](std::chrono::milliseconds ms) {
    return static_cast<double>(ms.count()) / 1000.0;
  };
  return {{"memory_mb", limits.memory_mb},
          {"cpus", limits.cpus},
          {"pids", limits.pids},
          {"workspace_mb", limits.workspace_mb},
          {"timeout", seconds(limits.timeout)},
          {"max_timeout", seconds(limits.max_timeout)}};
}

}  // namespace gateway
