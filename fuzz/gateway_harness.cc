#include "fuzz/gateway_harness.h"

#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "common/text.h"
#include "fuzz/check.h"
#include "gateway/execution_registry.h"
#include "gateway/mcp_sessions.h"

namespace fuzz {
namespace {

using nlohmann::json;

bool NeedsAuth(std::string_view path) {
  return path == "/execute" || path == "/release" || path == "/status" || path == "/files" ||
         path == "/files/list";
}

bool KnownStatus(int status) {
  for (const int known : {200, 202, 204, 400, 401, 404, 405, 409, 413, 422, 429, 501, 503}) {
    if (status == known) return true;
  }
  return false;
}

void CheckCommand(const pool::ExecuteCommand& command, const gateway::RouterConfig& config) {
  FUZZ_CHECK(!command.user.empty(), "an empty user reached the sessions");
  FUZZ_CHECK(command.user.size() <= config.max_user_bytes,
             "an oversized user reached the sessions");
  if (command.timeout) {
    FUZZ_CHECK(command.timeout->count() > 0, "a timeout of 0 ms or less reached the sessions");
    FUZZ_CHECK(*command.timeout <= config.max_exec_timeout,
               "a timeout above the maximum reached the sessions");
  }
}

}  // namespace

gateway::RouterConfig FuzzRouterConfig() {
  gateway::RouterConfig config;
  config.token = kToken;
  // The detached executions and the MCP endpoint, fresh for each request.
  config.executions = std::make_shared<gateway::ExecutionRegistry>();
  config.mcp = std::make_shared<gateway::McpSessions>();
  return config;
}

void FakeSessions::Execute(pool::ExecuteCommand command,
                           std::function<void(pool::ExecuteOutcome)> done) {
  ++calls_;
  const std::size_t n = command.code.size();
  pool::ExecuteOutcome outcome;
  // Every outcome a waiting client can be sent (kAbandoned is sent to nobody).
  constexpr pool::Outcome kOutcomes[] = {pool::Outcome::kCompleted,   pool::Outcome::kTimedOut,
                                         pool::Outcome::kKernelDied,  pool::Outcome::kNoCapacity,
                                         pool::Outcome::kQueueFull,   pool::Outcome::kReleased,
                                         pool::Outcome::kShuttingDown};
  outcome.outcome = kOutcomes[n % std::size(kOutcomes)];
  const bool ran = n % std::size(kOutcomes) <= 2;  // the first three: the kernel ran the code
  outcome.state_preserved = n % 2 == 0;
  // The pool always explains an outcome in which nothing ran; otherwise the detail is optional.
  outcome.detail = ran && n % 5 == 0 ? "" : command.code;
  outcome.notice = n % 4 == 0 ? command.user : "";
  outcome.duration = std::chrono::milliseconds(n);
  outcome.timeout = command.timeout.value_or(std::chrono::milliseconds(30000));
  outcome.retry_after_seconds = static_cast<int>(n % 3);
  jupyter::ExecutionResult& result = outcome.result;
  result.status = n % 3 == 0 ? "ok" : n % 3 == 1 ? "error" : "";
  result.stdout_text = command.code;
  result.stderr_text = command.user;
  result.result_text = command.code.substr(0, n / 2);  // may split a UTF-8 sequence
  json outputs = json::parse(command.code, nullptr, /*allow_exceptions=*/false);
  if (outputs.is_array()) result.outputs = std::move(outputs);
  if (n % 3 != 2) result.execution_count = static_cast<long long>(n);
  if (result.status == "error") {
    result.error = jupyter::ExecutionError{command.user, command.code, {command.code, ""}};
  }
  result.truncated = n % 11 == 0;
  last_command_ = std::move(command);
  done(std::move(outcome));
}

bool FakeSessions::Release(const std::string& user) {
  ++calls_;
  return user.size() % 2 == 0;
}

pool::PoolStatus FakeSessions::Status() const {
  ++calls_;
  pool::PoolStatus status;
  status.total_workers = 3;
  status.sandbox = "fake";
  return status;
}

void FakeSessions::OpenWorkspace(const std::string& user, const pool::SessionOptions& /*options*/,
                                 std::function<void(pool::WorkspaceGrant)> done) {
  ++calls_;
  FUZZ_CHECK(!user.empty(), "an empty user reached the sessions");
  done({.workspace = nullptr,
        .refusal = pool::WorkspaceRefusal::kUnavailable,
        .detail = "no workspaces in the fuzzer",
        .retry_after_seconds = 0});
}

gateway::HttpResponse Route(const gateway::HttpRequest& request, FakeSessions& sessions) {
  const gateway::RouterConfig config = FuzzRouterConfig();
  const int calls_before = sessions.Calls();
  int responses = 0;
  gateway::HttpResponse response;
  gateway::HandleRequest(request, config, sessions, [&](gateway::HttpResponse r) {
    ++responses;
    response = std::move(r);
  });
  FUZZ_CHECK(responses == 1, "HandleRequest must respond exactly once");
  FUZZ_CHECK(KnownStatus(response.status), std::to_string(response.status).c_str());

  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const bool authorized = request.auth_token == config.token;
  if (NeedsAuth(path) && !authorized) {
    // A CORS preflight carries no credentials (browsers never send them on one): it is
    // answered without the token, and runs nothing.
    const bool preflight = request.method == "OPTIONS" && response.status == 204;
    FUZZ_CHECK(response.status == 401 || response.status == 405 || preflight,
               "an unauthenticated request to a protected route was not refused");
    FUZZ_CHECK(sessions.Calls() == calls_before, "an unauthenticated request reached the sessions");
  }
  if (response.status == 405) {
    bool has_allow = false;
    for (const auto& [name, value] : response.headers) has_allow |= name == "Allow";
    FUZZ_CHECK(has_allow, "405 without an Allow header");
  }
  if (sessions.Calls() != calls_before && path == "/execute" && sessions.last_command()) {
    CheckCommand(*sessions.last_command(), config);
    FUZZ_CHECK(sessions.last_command()->ticket == request.id, "the command lost its request id");
  }

  if (response.content_type == "application/json") {
    FUZZ_CHECK(common::IsValidUtf8(response.body), "a JSON response body is not valid UTF-8");
    const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(body.is_object(), "a JSON response body is not a JSON object");
    if (response.status == 422) {
      // The /api/v1 layout's validation errors: FastAPI's list, one entry per problem.
      const auto detail = body.find("detail");
      FUZZ_CHECK(detail != body.end() && detail->is_array() && !detail->empty(),
                 "a 422 without its list of problems");
      for (const json& problem : *detail) {
        FUZZ_CHECK(problem.is_object() && problem.contains("loc") && problem["loc"].is_array() &&
                       problem.contains("msg") && problem["msg"].is_string() &&
                       !problem["msg"].empty(),
                   "a 422 problem without loc and msg");
      }
    } else if (response.status >= 400) {
      const auto detail = body.find("detail");
      FUZZ_CHECK(detail != body.end() && detail->is_string() && !detail->empty(),
                 "an error response without a detail");
    }
  } else {
    const bool page = request.method == "GET" && response.status == 200 &&
                      (path == "/" || path == "/docs" || path == "/metrics");
    const bool empty = response.body.empty() && (response.status == 202 || response.status == 204);
    FUZZ_CHECK(page || empty, "only the pages, the metrics and empty answers are not JSON");
  }
  return response;
}

}  // namespace fuzz
