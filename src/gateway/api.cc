#include "gateway/api.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/text.h"
#include "gateway/limits_json.h"
#include "gateway/violations.h"

namespace gateway {
namespace {

using nlohmann::json;

common::Result<std::string> UserField(const json& object, const RouterConfig& config) {
  const auto it = object.find("user_uuid");
  if (it == object.end()) return common::Fail("Field 'user_uuid' is required");
  if (!it->is_string()) return common::Fail("Field 'user_uuid' must be a string");
  std::string user = it->get<std::string>();
  if (user.empty()) return common::Fail("Field 'user_uuid' must not be empty");
  if (user.size() > config.max_user_bytes) {
    return common::Fail("Field 'user_uuid' must be at most " +
                        std::to_string(config.max_user_bytes) + " bytes");
  }
  return user;
}

// The one place where the layouts differ: the status code of each outcome.
int HttpStatusFor(const pool::ExecuteOutcome& outcome, ApiLayout layout) {
  const bool v1 = layout == ApiLayout::kV1;
  switch (outcome.outcome) {
    case pool::Outcome::kCompleted:
      return outcome.result.status == "ok" || v1 ? 200 : 400;
    case pool::Outcome::kTimedOut:
    case pool::Outcome::kKernelDied:
      return v1 ? 503 : 400;
    case pool::Outcome::kInterrupted:  // on request: for /api/v1 like an exception, unless the
                                       // kernel had to be replaced
      return !v1 ? 400 : outcome.state_preserved ? 200 : 503;
    case pool::Outcome::kNoCapacity:
    case pool::Outcome::kShuttingDown:
      return 503;
    case pool::Outcome::kQueueFull:
      return 429;
    case pool::Outcome::kReleased:
      return 409;
    case pool::Outcome::kAbandoned:
      return 499;  // nobody reads it: the client closed the connection
    case pool::Outcome::kInvalid:
      return v1 ? 422 : 400;
    case pool::Outcome::kConflict:
      return 409;
  }
  return 500;
}

// A Python exception as the original's later version shows it in result_text: the
// traceback (escapes removed), else "ename: evalue".
std::string ErrorText(const jupyter::ExecutionError& error) {
  std::string text;
  for (const std::string& line : error.traceback) {  // IPython's lines may end in newlines
    text += line;
    if (!line.ends_with('\n')) text += '\n';
  }
  if (text.empty()) text = error.evalue.empty() ? error.ename : error.ename + ": " + error.evalue;
  return text;
}

// The session fields an /execute or POST /sessions may carry.
common::Result<pool::SessionOptions> SessionFields(const json& object) {
  pool::SessionOptions options;
  if (const auto env = object.find("environment"); env != object.end() && !env->is_null()) {
    if (!env->is_string() || env->get_ref<const std::string&>().empty())
      return common::Fail("Field 'environment' must be a non-empty string");
    options.environment = env->get<std::string>();
  }
  if (const auto limits = object.find("limits"); limits != object.end() && !limits->is_null()) {
    auto requested = ParseLimits(*limits);
    if (!requested) return std::unexpected(requested.error());
    options.limits = *requested;
  }
  return options;
}

}  // namespace

common::Result<json> ParseBodyObject(const std::string& body) {
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return common::Fail("Request body is not valid JSON");
  if (!value.is_object()) return common::Fail("Request body must be a JSON object");
  return value;
}

common::Result<pool::SessionOptions> ParseSessionQuery(const QueryParams& params) {
  json object = json::object();
  if (const auto env = params.find("environment"); env != params.end()) {
    if (env->second.empty()) return common::Fail("Query parameter 'environment' must not be empty");
    object["environment"] = env->second;
  }
  constexpr std::string_view kPrefix = "limits.";
  json limits = json::object();
  for (auto it = params.lower_bound(kPrefix); it != params.end() && it->first.starts_with(kPrefix);
       ++it) {
    json value = json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_number()) {
      return common::Fail("Query parameter '" + common::Printable(it->first, 64) +
                          "' must be a number");
    }
    limits[it->first.substr(kPrefix.size())] = std::move(value);
  }
  if (!limits.empty()) object["limits"] = std::move(limits);
  return SessionFields(object);
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

common::Result<std::pair<std::string, pool::SessionOptions>> ParseCreateSession(
    const std::string& body, const RouterConfig& config) {
  auto object = ParseBodyObject(body);
  if (!object) return std::unexpected(object.error());
  auto user = UserField(*object, config);
  if (!user) return std::unexpected(user.error());
  auto options = SessionFields(*object);
  if (!options) return std::unexpected(options.error());
  return std::pair{std::move(*user), std::move(*options)};
}

common::Result<pool::ExecuteCommand> ParseExecute(const std::string& body,
                                                  const RouterConfig& config) {
  auto object = ParseBodyObject(body);
  if (!object) return std::unexpected(object.error());
  return ParseExecute(*object, config);
}

common::Result<pool::ExecuteCommand> ParseExecute(const json& object, const RouterConfig& config) {
  auto user = UserField(object, config);
  if (!user) return std::unexpected(user.error());
  pool::ExecuteCommand command;
  command.user = std::move(*user);
  auto options = SessionFields(object);
  if (!options) return std::unexpected(options.error());
  command.session = std::move(*options);
  const auto code = object.find("code");
  if (code == object.end()) return common::Fail("Field 'code' is required");
  if (!code->is_string()) return common::Fail("Field 'code' must be a string");
  command.code = code->get<std::string>();
  // Python cannot compile source with a NUL byte, and ipykernel then drops the request
  // without a reply: refuse it here, at once.
  if (command.code.find('\0') != std::string::npos) {
    return common::Fail("Field 'code' must not contain a NUL character (Python cannot compile it)");
  }
  const auto timeout = object.find("timeout");
  if (timeout != object.end() && !timeout->is_null()) {
    const double max_seconds = static_cast<double>(config.max_exec_timeout.count()) / 1000.0;
    if (!timeout->is_number()) return common::Fail("Field 'timeout' must be a number of seconds");
    const double seconds = timeout->get<double>();
    if (!std::isfinite(seconds) || seconds <= 0 || seconds > max_seconds) {
      char buf[96];
      std::snprintf(buf, sizeof buf,
                    "Field 'timeout' must be greater than 0 and at most %g seconds", max_seconds);
      return common::Fail(buf);
    }
    command.timeout =
        std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0)));
  }
  return command;
}

common::Result<std::string> ParseUserBody(const std::string& body, const RouterConfig& config) {
  auto object = ParseBodyObject(body);
  if (!object) return std::unexpected(object.error());
  return UserField(*object, config);
}

json FilesJson(const workspace::ChangeList& changes) {
  json files = json::array();
  for (const workspace::FileChange& change : changes.changes) {
    json entry = PathFields("/sandbox/" + change.path);
    entry["change"] = std::string(workspace::ChangeName(change.change));
    entry["type"] = std::string(workspace::TypeName(change.type));
    entry["size"] = change.size;
    files.push_back(std::move(entry));
  }
  return files;
}

HttpResponse ExecuteResponse(pool::ExecuteOutcome outcome, ApiLayout layout,
                             std::string_view execution_id) {
  HttpResponse response;
  response.status = HttpStatusFor(outcome, layout);
  const bool ran = outcome.outcome == pool::Outcome::kCompleted ||
                   outcome.outcome == pool::Outcome::kTimedOut ||
                   outcome.outcome == pool::Outcome::kKernelDied ||
                   outcome.outcome == pool::Outcome::kInterrupted;
  if (!ran) {
    if (response.status == 422) {
      Violations violations;
      violations.Add(json::array({"body"}), outcome.detail);
      response = violations.Response();
    } else {
      response = ErrorResponse(response.status, outcome.detail);
    }
    if (!execution_id.empty()) {
      json body = json::parse(response.body);
      body["execution_id"] = execution_id;
      response.body = Dump(body);
    }
    if (outcome.retry_after_seconds > 0) {
      response.headers.emplace_back("Retry-After", std::to_string(outcome.retry_after_seconds));
    }
    return response;
  }
  jupyter::ExecutionResult& r = outcome.result;
  // Large strings are moved, not copied: the output exists once in the result, once more in
  // result_text (the seed's stdout + result), and in the serialized body.
  json body;
  if (!execution_id.empty()) body["execution_id"] = execution_id;
  const json* png = r.LastPng();
  body["result_base64"] = png != nullptr ? *png : json(nullptr);
  std::string text = r.stdout_text + r.result_text;
  if (layout == ApiLayout::kV1) {
    if (r.error) text += ErrorText(*r.error);
    body["worker_id"] = outcome.worker_id.empty() ? json(nullptr) : json(outcome.worker_id);
  }
  body["result_text"] = text.empty() ? json(nullptr) : json(std::move(text));
  body["stdout"] = std::move(r.stdout_text);
  body["stderr"] = std::move(r.stderr_text);
  body["outputs"] = std::move(r.outputs);
  body["execution_count"] = r.execution_count ? json(*r.execution_count) : json(nullptr);
  body["duration_ms"] = outcome.duration.count();
  body["timed_out"] = outcome.outcome == pool::Outcome::kTimedOut;
  body["interrupted"] = outcome.outcome == pool::Outcome::kInterrupted;
  body["state_preserved"] = outcome.state_preserved;
  body["truncated"] = r.truncated;
  if (!outcome.notice.empty()) body["notice"] = outcome.notice;
  if (outcome.usage) {
    body["usage"] = {{"cpu_ms", std::round(outcome.usage->cpu_ms * 10) / 10},
                     {"peak_memory_mb", std::round(outcome.usage->peak_memory_mb * 10) / 10}};
  }
  if (outcome.files) {
    body["files"] = FilesJson(*outcome.files);
    body["files_truncated"] = outcome.files->truncated;
  }
  if (r.error) {
    body["error"] = {
        {"ename", r.error->ename}, {"evalue", r.error->evalue}, {"traceback", r.error->traceback}};
  }
  if (response.status != 200) {
    std::string detail = outcome.detail;
    if (detail.empty() && r.error) {
      detail = r.error->evalue.empty() ? r.error->ename : r.error->ename + ": " + r.error->evalue;
    }
    if (detail.empty())
      detail = "Execution failed (status: " + (r.status.empty() ? "none" : r.status) + ")";
    body["detail"] = detail;
  }
  response.body = Dump(body);
  return response;
}

std::string StatusBody(const pool::PoolStatus& s) {
  json environments = json::array();
  for (const pool::EnvironmentStatus& e : s.environments) {
    environments.push_back({{"name", e.name},
                            {"min_idle_workers", e.min_idle},
                            {"total_workers", e.total_workers},
                            {"idle_workers", e.idle_workers},
                            {"busy_workers", e.busy_workers},
                            {"starting_workers", e.starting_workers},
                            {"sessions", e.sessions}});
  }
  return Dump(json{
      {"total_workers", s.total_workers},
      {"busy_workers", s.busy_workers},
      {"idle_workers_in_pool", s.idle_workers_in_pool},
      {"is_initializing", s.is_initializing},
      {"executing_workers", s.executing_workers},
      {"starting_workers", s.starting_workers},
      {"sessions", s.sessions},
      {"max_workers", s.max_workers},
      {"min_idle_workers", s.min_idle_workers},
      {"sandbox", s.sandbox},
      {"default_environment", s.default_environment},
      {"environments", std::move(environments)},
  });
}

json PathFields(const std::string& display_path) {
  std::string text = workspace::JsonText(display_path);
  json fields = {{"path", text}};
  // Not UTF-8: the exact bytes, for the client to pass back as `path=`.
  if (text != display_path) fields["encoded_path"] = workspace::PercentEncode(display_path);
  return fields;
}

std::string ListingBody(const std::string& dir_display_path, const workspace::Listing& listing) {
  json entries = json::array();
  for (const workspace::ListEntry& e : listing.entries) {
    const std::string path =
        dir_display_path == "/sandbox" ? "/sandbox/" + e.name : dir_display_path + "/" + e.name;
    json entry = PathFields(path);
    entry["name"] = workspace::JsonText(e.name);
    entry["type"] = std::string(workspace::TypeName(e.type));
    entry["size"] = e.size;
    entry["mtime"] = static_cast<double>(e.mtime_ns) / 1e9;
    entries.push_back(std::move(entry));
  }
  json body = PathFields(dir_display_path);
  body["entries"] = std::move(entries);
  body["total"] = listing.total;
  body["truncated"] = listing.truncated;
  return Dump(body);
}

HttpResponse ErrorResponse(int status, std::string detail) {
  HttpResponse response;
  response.status = status;
  response.body = Dump(json{{"detail", std::move(detail)}});
  return response;
}

}  // namespace gateway
