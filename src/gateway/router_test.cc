#include "gateway/router.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gateway {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kToken = "test-token-0123456789abcdef";

std::optional<std::string> Header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

class RouterTest : public ::testing::Test {
 protected:
  // Records every call and answers at once with the preset outcome / status.
  class FakeSessions : public pool::Sessions {
   public:
    void Execute(pool::ExecuteCommand command,
                 std::function<void(pool::ExecuteOutcome)> done) override {
      commands.push_back(std::move(command));
      done(outcome);
    }
    bool Release(const std::string& user) override {
      released.push_back(user);
      return had_session;
    }
    pool::PoolStatus Status() const override {
      ++status_calls;
      return status;
    }
    // The file routes have tests of their own (file_routes_test.cc).
    void OpenWorkspace(const std::string&, const pool::SessionOptions&,
                       std::function<void(pool::WorkspaceGrant)> done) override {
      done({.workspace = nullptr,
            .refusal = pool::WorkspaceRefusal::kUnavailable,
            .detail = "no workspaces here",
            .retry_after_seconds = 0});
    }
    pool::SessionCreated CreateSession(const std::string& user, const pool::SessionOptions& options,
                                       std::string& detail) override {
      if (options.environment == "nope") {
        detail = "Unknown environment 'nope'; this server has: python";
        return pool::SessionCreated::kInvalid;
      }
      if (described.contains(user)) {
        detail = "exists";
        return pool::SessionCreated::kExists;
      }
      described[user] = {
          .user = user,
          .environment = options.environment.empty() ? "python" : options.environment,
          .age = std::chrono::seconds(0),
          .idle = std::chrono::seconds(0),
          .has_worker = false,
          .executing = false,
          .queued = 0,
          .executions = 0,
          .cpu_ms = 0,
          .peak_memory_mb = 0};
      return pool::SessionCreated::kCreated;
    }
    std::optional<pool::SessionInfo> Describe(const std::string& user) const override {
      const auto it = described.find(user);
      if (it == described.end()) return std::nullopt;
      return it->second;
    }
    static pool::ExecuteOutcome Completed() {
      pool::ExecuteOutcome outcome;
      outcome.result.status = "ok";
      return outcome;
    }
    int Calls() const { return static_cast<int>(commands.size() + released.size()) + status_calls; }

    pool::ExecuteOutcome outcome = Completed();
    bool had_session = true;
    pool::PoolStatus status;
    std::vector<pool::ExecuteCommand> commands;
    std::vector<std::string> released;
    mutable int status_calls = 0;
    std::map<std::string, pool::SessionInfo> described;
  };

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", std::optional<std::string> token = kToken) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = std::move(token);
    request.body = body;
    request.id = ++next_id_;
    int responses = 0;
    HttpResponse response;
    HandleRequest(request, config_, sessions_, [&](HttpResponse r) {
      ++responses;
      response = std::move(r);
    });
    EXPECT_EQ(responses, 1) << method << " " << target << " must respond exactly once";
    return response;
  }

  HttpResponse Execute(const json& body) { return Send("POST", "/execute", body.dump()); }

  std::uint64_t next_id_ = 0;

  static json Body(const HttpResponse& response) {
    json body = json::parse(response.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << response.body;
    return body;
  }

  static json Request(json extra = json::object()) {
    json body = {{"user_uuid", "user-1"}, {"code", "print(1)"}};
    body.update(extra);
    return body;
  }

  RouterConfig config_{.token = kToken, .max_exec_timeout = milliseconds(300 * 1000)};
  FakeSessions sessions_;
};

TEST_F(RouterTest, UnknownPathIs404) {
  for (const char* target : {"/nope", "/execute/x", "/health/", "", "/Execute"}) {
    const HttpResponse response = Send("GET", target);
    EXPECT_EQ(response.status, 404) << target;
    EXPECT_EQ(Body(response)["detail"], "Not found");
  }
  EXPECT_EQ(Send("POST", "/nope", "", std::nullopt).status, 404) << "no token needed to get a 404";
  EXPECT_EQ(sessions_.Calls(), 0);
}

TEST_F(RouterTest, WrongMethodIs405WithAllowHeader) {
  const struct {
    const char* method;
    const char* target;
    const char* allow;
  } cases[] = {{"GET", "/execute", "POST"},
               {"PUT", "/release", "POST"},
               {"POST", "/status", "GET"},
               {"DELETE", "/health", "GET"},
               {"POST", "/files", "GET, PUT, DELETE"},
               {"PUT", "/files/list", "GET"},
               {"POST", "/", "GET"}};
  for (const auto& c : cases) {
    const HttpResponse response = Send(c.method, c.target);
    EXPECT_EQ(response.status, 405) << c.method << " " << c.target;
    EXPECT_EQ(Header(response, "Allow"), c.allow) << c.method << " " << c.target;
    EXPECT_TRUE(Body(response).contains("detail"));
  }
  EXPECT_EQ(sessions_.Calls(), 0);
}

TEST_F(RouterTest, ProtectedRoutesNeedTheToken) {
  const std::string valid_body = Request().dump();
  const struct {
    const char* method;
    const char* target;
  } routes[] = {{"POST", "/execute"}, {"POST", "/release"}, {"GET", "/status"}};
  const std::optional<std::string> bad_tokens[] = {
      std::nullopt, "", "wrong", std::string(kToken) + "x", std::string(kToken).substr(1)};
  for (const auto& route : routes) {
    for (const auto& token : bad_tokens) {
      const HttpResponse response = Send(route.method, route.target, valid_body, token);
      EXPECT_EQ(response.status, 401) << route.target << " token=" << token.value_or("<none>");
      EXPECT_EQ(Body(response)["detail"], "Missing or invalid X-Auth-Token");
    }
  }
  EXPECT_EQ(sessions_.Calls(), 0) << "nothing reaches the pool without the token";
}

TEST_F(RouterTest, EmptyConfiguredTokenAcceptsNothing) {
  config_.token = "";
  EXPECT_EQ(Send("GET", "/status", "", "").status, 401);
  EXPECT_EQ(Send("GET", "/status", "", std::nullopt).status, 401);
  EXPECT_EQ(sessions_.Calls(), 0);
}

TEST_F(RouterTest, HealthAndTestPageNeedNoToken) {
  const HttpResponse health = Send("GET", "/health", "", std::nullopt);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health), json({{"status", "ok"}}));

  const HttpResponse page = Send("GET", "/", "", std::nullopt);
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page.body, kTestPage);
  EXPECT_FALSE(page.body.empty());
  EXPECT_TRUE(Header(page, "Content-Security-Policy").has_value());
  EXPECT_EQ(sessions_.Calls(), 0);
}

TEST_F(RouterTest, CheckHeadRefusesWhatTheHeadAloneDecides) {
  const auto head = [](const char* method, const char* target, std::optional<std::string> token) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = std::move(token);
    return request;
  };
  const struct {
    HttpRequest head;
    int status;  // 0: passes
  } cases[] = {
      {head("POST", "/execute", std::nullopt), 401}, {head("POST", "/execute", "wrong"), 401},
      {head("POST", "/execute", kToken), 0},         {head("GET", "/execute", kToken), 405},
      {head("POST", "/nope", std::nullopt), 404},    {head("GET", "/health", std::nullopt), 0},
      {head("GET", "/?x=1", std::nullopt), 0},       {head("GET", "/status", std::nullopt), 401},
  };
  for (const auto& c : cases) {
    const auto refusal = CheckHead(c.head, config_);
    EXPECT_EQ(refusal ? refusal->status : 0, c.status) << c.head.method << " " << c.head.target;
    if (refusal) {
      EXPECT_TRUE(Body(*refusal).contains("detail"));
    }
  }
  EXPECT_EQ(sessions_.Calls(), 0);
}

TEST_F(RouterTest, PreflightsAreAnsweredForKnownRoutesWithoutAToken) {
  HttpRequest preflight;
  preflight.method = "OPTIONS";
  preflight.target = "/files?path=a.csv";
  preflight.origin = "null";
  const auto answer = CheckHead(preflight, config_);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(Header(*answer, "Access-Control-Allow-Methods"), "GET, PUT, DELETE");
  preflight.target = "/sessions/someone";
  EXPECT_EQ(Header(*CheckHead(preflight, config_), "Access-Control-Allow-Methods"), "GET");
  preflight.target = "/nope";
  EXPECT_EQ(CheckHead(preflight, config_)->status, 404);

  config_.cors.origins.clear();  // CORS off: OPTIONS is a method like any other
  preflight.target = "/execute";
  EXPECT_EQ(CheckHead(preflight, config_)->status, 405);
  EXPECT_EQ(sessions_.Calls(), 0);
}

TEST_F(RouterTest, QueryStringsAreIgnoredForRouting) {
  EXPECT_EQ(Send("GET", "/health?probe=1", "", std::nullopt).status, 200);
  EXPECT_EQ(Send("GET", "/?x=y", "", std::nullopt).status, 200);
  EXPECT_EQ(Send("GET", "/status?verbose=true").status, 200);
  EXPECT_EQ(Send("GET", "/status?x", "", std::nullopt).status, 401);
  EXPECT_EQ(Send("POST", "/execute?debug=1", Request().dump()).status, 200);
  EXPECT_EQ(Send("GET", "/nope?x=/health").status, 404);
  EXPECT_EQ(sessions_.commands.size(), 1u);
  EXPECT_EQ(sessions_.status_calls, 1);
}

TEST_F(RouterTest, MalformedExecuteRequestsAre400) {
  const struct {
    std::string body;
    std::string detail;
  } cases[] = {
      {"{not json", "Request body is not valid JSON"},
      {"", "Request body is not valid JSON"},
      {"[1, 2]", "Request body must be a JSON object"},
      {"\"text\"", "Request body must be a JSON object"},
      {R"({"code": "1"})", "Field 'user_uuid' is required"},
      {R"({"user_uuid": 5, "code": "1"})", "Field 'user_uuid' must be a string"},
      {R"({"user_uuid": null, "code": "1"})", "Field 'user_uuid' must be a string"},
      {R"({"user_uuid": "", "code": "1"})", "Field 'user_uuid' must not be empty"},
      {Request({{"user_uuid", std::string(257, 'u')}}).dump(),
       "Field 'user_uuid' must be at most 256 bytes"},
      {R"({"user_uuid": "u"})", "Field 'code' is required"},
      {R"({"user_uuid": "u", "code": ["x"]})", "Field 'code' must be a string"},
      {R"({"user_uuid": "u", "code": "x = 1\u0000"})",
       "Field 'code' must not contain a NUL character (Python cannot compile it)"},
      {Request({{"timeout", "10"}}).dump(), "Field 'timeout' must be a number of seconds"},
      {Request({{"timeout", true}}).dump(), "Field 'timeout' must be a number of seconds"},
      {Request({{"timeout", 0}}).dump(),
       "Field 'timeout' must be greater than 0 and at most 300 seconds"},
      {Request({{"timeout", -1.5}}).dump(),
       "Field 'timeout' must be greater than 0 and at most 300 seconds"},
      {Request({{"timeout", 300.5}}).dump(),
       "Field 'timeout' must be greater than 0 and at most 300 seconds"},
  };
  for (const auto& c : cases) {
    const HttpResponse response = Send("POST", "/execute", c.body);
    EXPECT_EQ(response.status, 400) << c.body;
    EXPECT_EQ(Body(response)["detail"], c.detail) << c.body;
  }
  EXPECT_EQ(sessions_.Calls(), 0) << "invalid requests never reach the pool";
}

TEST_F(RouterTest, ValidExecuteIsPassedToThePool) {
  ASSERT_EQ(Execute(Request({{"user_uuid", std::string(256, 'u')}, {"code", "x = 1"}})).status,
            200);
  ASSERT_EQ(sessions_.commands.size(), 1u);
  EXPECT_EQ(sessions_.commands[0].user, std::string(256, 'u'))
      << "256 bytes is the limit, inclusive";
  EXPECT_EQ(sessions_.commands[0].code, "x = 1");
  EXPECT_FALSE(sessions_.commands[0].timeout.has_value()) << "no timeout means the pool default";
  EXPECT_EQ(sessions_.commands[0].ticket, next_id_) << "the request id lets a hang-up abandon it";
}

TEST_F(RouterTest, ValidTimeoutIsPassedInMilliseconds) {
  for (const auto& [seconds, expected] : std::vector<std::pair<json, milliseconds>>{
           {2.5, milliseconds(2500)}, {7, milliseconds(7000)}, {300, milliseconds(300000)}}) {
    sessions_.commands.clear();
    ASSERT_EQ(Execute(Request({{"timeout", seconds}})).status, 200) << seconds;
    ASSERT_EQ(sessions_.commands.size(), 1u);
    EXPECT_EQ(sessions_.commands[0].timeout, expected) << seconds;
  }
  sessions_.commands.clear();
  ASSERT_EQ(Execute(Request({{"timeout", nullptr}})).status, 200);
  EXPECT_FALSE(sessions_.commands.at(0).timeout.has_value()) << "null timeout means the default";
}

TEST_F(RouterTest, TimeoutLimitFollowsTheConfig) {
  config_.max_exec_timeout = milliseconds(10 * 1000);
  const HttpResponse response = Execute(Request({{"timeout", 11}}));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(Body(response)["detail"],
            "Field 'timeout' must be greater than 0 and at most 10 seconds");
  EXPECT_EQ(Execute(Request({{"timeout", 10}})).status, 200);
}

TEST_F(RouterTest, SuccessBodyHasTheDocumentedFields) {
  jupyter::ExecutionResult& r = sessions_.outcome.result;
  r.stdout_text = "hello\n";
  r.stderr_text = "warn\n";
  r.result_text = "42";
  r.execution_count = 5;
  r.outputs = json::array({{{"type", "display_data"}, {"data", {{"image/png", "PNG1"}}}},
                           {{"type", "display_data"}, {"data", {{"image/png", "PNG2"}}}},
                           {{"type", "execute_result"}, {"data", {{"text/plain", "42"}}}}});
  sessions_.outcome.duration = milliseconds(123);

  const HttpResponse response = Execute(Request());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  const json body = Body(response);
  EXPECT_EQ(Keys(body),
            (std::set<std::string>{"execution_id", "result_text", "result_base64", "stdout",
                                   "stderr", "outputs", "execution_count", "duration_ms",
                                   "timed_out", "interrupted", "state_preserved", "truncated"}));
  EXPECT_TRUE(body["execution_id"].get<std::string>().starts_with("ex-"));
  EXPECT_EQ(body["result_text"], "hello\n42");
  EXPECT_EQ(body["result_base64"], "PNG2");
  EXPECT_EQ(body["stdout"], "hello\n");
  EXPECT_EQ(body["stderr"], "warn\n");
  EXPECT_EQ(body["outputs"], r.outputs);
  EXPECT_EQ(body["execution_count"], 5);
  EXPECT_EQ(body["duration_ms"], 123);
  EXPECT_EQ(body["timed_out"], false);
  EXPECT_EQ(body["state_preserved"], true);
  EXPECT_EQ(body["truncated"], false);
}

TEST_F(RouterTest, EmptyResultsAreNull) {
  sessions_.outcome.result.stderr_text = "only stderr";
  sessions_.outcome.result.truncated = true;
  const json body = Body(Execute(Request()));
  EXPECT_TRUE(body["result_text"].is_null()) << "stderr is not part of result_text";
  EXPECT_TRUE(body["result_base64"].is_null());
  EXPECT_TRUE(body["execution_count"].is_null());
  EXPECT_EQ(body["truncated"], true);
}

TEST_F(RouterTest, ResultTextIsStdoutAloneWithoutExecuteResult) {
  sessions_.outcome.result.stdout_text = "printed";
  EXPECT_EQ(Body(Execute(Request()))["result_text"], "printed");
}

TEST_F(RouterTest, PythonErrorIs400WithErrorObject) {
  jupyter::ExecutionResult& r = sessions_.outcome.result;
  r.status = "error";
  r.error =
      jupyter::ExecutionError{"NameError", "name 'x' is not defined", {"Traceback", "NameError"}};
  const HttpResponse response = Execute(Request());
  EXPECT_EQ(response.status, 400);
  const json body = Body(response);
  EXPECT_EQ(body["detail"], "NameError: name 'x' is not defined");
  EXPECT_EQ(body["error"], json({{"ename", "NameError"},
                                 {"evalue", "name 'x' is not defined"},
                                 {"traceback", {"Traceback", "NameError"}}}));
  EXPECT_EQ(body["timed_out"], false);
}

TEST_F(RouterTest, TimeoutIs400AndReportsStatePreservation) {
  for (const bool preserved : {true, false}) {
    sessions_.outcome.outcome = pool::Outcome::kTimedOut;
    sessions_.outcome.state_preserved = preserved;
    sessions_.outcome.detail = "Execution timed out after 5 seconds";
    sessions_.outcome.result.stdout_text = "partial";
    const HttpResponse response = Execute(Request());
    EXPECT_EQ(response.status, 400);
    const json body = Body(response);
    EXPECT_EQ(body["timed_out"], true);
    EXPECT_EQ(body["state_preserved"], preserved);
    EXPECT_EQ(body["detail"], "Execution timed out after 5 seconds");
    EXPECT_EQ(body["stdout"], "partial") << "output produced before the timeout is kept";
  }
}

TEST_F(RouterTest, PoolRefusalsMapToStatusCodes) {
  const struct {
    pool::Outcome outcome;
    int status;
    int retry_after;
  } cases[] = {{pool::Outcome::kNoCapacity, 503, 5},
               {pool::Outcome::kQueueFull, 429, 0},
               {pool::Outcome::kReleased, 409, 0},
               {pool::Outcome::kShuttingDown, 503, 0}};
  for (const auto& c : cases) {
    sessions_.outcome.outcome = c.outcome;
    sessions_.outcome.detail = "refused " + std::to_string(c.status);
    sessions_.outcome.retry_after_seconds = c.retry_after;
    const HttpResponse response = Execute(Request());
    EXPECT_EQ(response.status, c.status);
    json body = Body(response);
    EXPECT_TRUE(body["execution_id"].get<std::string>().starts_with("ex-")) << body;
    body.erase("execution_id");
    EXPECT_EQ(body, json({{"detail", "refused " + std::to_string(c.status)}}));
    if (c.retry_after > 0) {
      EXPECT_EQ(Header(response, "Retry-After"), std::to_string(c.retry_after));
    } else {
      EXPECT_FALSE(Header(response, "Retry-After").has_value());
    }
  }
}

TEST_F(RouterTest, ReleaseReportsWhetherAWorkerWasAssigned) {
  sessions_.had_session = true;
  HttpResponse response = Send("POST", "/release", R"({"user_uuid": "U"})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Body(response),
            json({{"status", "ok"}, {"detail", "Worker for user U has been released."}}));

  sessions_.had_session = false;
  response = Send("POST", "/release", R"({"user_uuid": "U"})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Body(response),
            json({{"status", "ok"}, {"detail", "No worker was assigned to user U."}}));
  EXPECT_EQ(sessions_.released, (std::vector<std::string>{"U", "U"}));
}

TEST_F(RouterTest, MalformedReleaseIs400) {
  for (const std::string body :
       {"nope", "[]", "{}", R"({"user_uuid": 1})", R"({"user_uuid": ""})"}) {
    EXPECT_EQ(Send("POST", "/release", body).status, 400) << body;
  }
  EXPECT_EQ(Send("POST", "/release", Request({{"user_uuid", std::string(257, 'u')}}).dump()).status,
            400);
  EXPECT_TRUE(sessions_.released.empty());
}

TEST_F(RouterTest, StatusReportsThePool) {
  sessions_.status = {.total_workers = 5,
                      .busy_workers = 2,
                      .idle_workers_in_pool = 3,
                      .executing_workers = 1,
                      .starting_workers = 4,
                      .sessions = 6,
                      .max_workers = 10,
                      .min_idle_workers = 2,
                      .is_initializing = true,
                      .sandbox = "bubblewrap",
                      .default_environment = "python",
                      .environments = {{.name = "python",
                                        .min_idle = 2,
                                        .total_workers = 4,
                                        .idle_workers = 3,
                                        .busy_workers = 1,
                                        .starting_workers = 0,
                                        .sessions = 5},
                                       {.name = "minimal",
                                        .min_idle = 0,
                                        .total_workers = 1,
                                        .idle_workers = 0,
                                        .busy_workers = 1,
                                        .starting_workers = 0,
                                        .sessions = 1}}};
  const HttpResponse response = Send("GET", "/status");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Body(response), json({{"total_workers", 5},
                                  {"busy_workers", 2},
                                  {"idle_workers_in_pool", 3},
                                  {"executing_workers", 1},
                                  {"starting_workers", 4},
                                  {"sessions", 6},
                                  {"max_workers", 10},
                                  {"min_idle_workers", 2},
                                  {"is_initializing", true},
                                  {"sandbox", "bubblewrap"},
                                  {"default_environment", "python"},
                                  {"environments",
                                   {{{"name", "python"},
                                     {"min_idle_workers", 2},
                                     {"total_workers", 4},
                                     {"idle_workers", 3},
                                     {"busy_workers", 1},
                                     {"starting_workers", 0},
                                     {"sessions", 5}},
                                    {{"name", "minimal"},
                                     {"min_idle_workers", 0},
                                     {"total_workers", 1},
                                     {"idle_workers", 0},
                                     {"busy_workers", 1},
                                     {"starting_workers", 0},
                                     {"sessions", 1}}}}}));
  EXPECT_EQ(sessions_.status_calls, 1);
}

TEST_F(RouterTest, SessionsAreCreatedOnceAndDescribed) {
  const HttpResponse created =
      Send("POST", "/sessions", json{{"user_uuid", "a b+c"}, {"environment", "minimal"}}.dump());
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created)["environment"], "minimal");
  EXPECT_EQ(Body(created)["user_uuid"], "a b+c");
  const HttpResponse again = Send("POST", "/sessions", json{{"user_uuid", "a b+c"}}.dump());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Body(again)["session"]["environment"], "minimal") << again.body;
  // The user's name, percent-encoded in the path; '+' is a plus there.
  const HttpResponse described = Send("GET", "/sessions/a%20b+c");
  EXPECT_EQ(described.status, 200) << described.body;
  EXPECT_EQ(Body(described)["environment"], "minimal");
  EXPECT_TRUE(Body(described).contains("usage"));
  EXPECT_EQ(Send("GET", "/sessions/nobody").status, 404);
  EXPECT_EQ(Send("GET", "/sessions/a%20b+c", "", std::nullopt).status, 401);
  EXPECT_EQ(Send("GET", "/sessions/").status, 404);
  EXPECT_EQ(Send("DELETE", "/sessions/x").status, 405);
}

TEST_F(RouterTest, SessionFieldsAreValidated) {
  const HttpResponse unknown =
      Send("POST", "/sessions", json{{"user_uuid", "u"}, {"environment", "nope"}}.dump());
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(Body(unknown)["detail"].get<std::string>().find("python"), std::string::npos);
  for (const json& bad :
       {json{{"user_uuid", "u"}, {"environment", 3}}, json{{"user_uuid", "u"}, {"environment", ""}},
        json{{"user_uuid", "u"}, {"limits", 3}},
        json{{"user_uuid", "u"}, {"limits", {{"memory_mb", "1"}}}},
        json{{"user_uuid", "u"}, {"limits", {{"memory_mb", 1.5}}}},
        json{{"user_uuid", "u"}, {"limits", {{"pids", -4}}}},
        json{{"user_uuid", "u"}, {"limits", {{"cpus", 0}}}},
        json{{"user_uuid", "u"}, {"limits", {{"timeout", "9"}}}},
        json{{"user_uuid", "u"}, {"limits", {{"swap_mb", 1}}}}}) {
    EXPECT_EQ(Send("POST", "/sessions", bad.dump()).status, 400) << bad;
    EXPECT_EQ(Execute(Request(bad)).status, 400) << bad;
  }
  EXPECT_EQ(Send("POST", "/sessions", json{{"environment", "python"}}.dump()).status, 400);
  EXPECT_EQ(Execute(Request({{"environment", "minimal"}})).status, 200);
  ASSERT_EQ(sessions_.commands.size(), 1u);
  EXPECT_EQ(sessions_.commands[0].session.environment, "minimal");
  EXPECT_TRUE(sessions_.commands[0].session.limits.Empty());
  EXPECT_EQ(Execute(Request({{"limits",
                              {{"memory_mb", 512},
                               {"cpus", 0.5},
                               {"pids", 64},
                               {"workspace_mb", 10},
                               {"timeout", 2.5},
                               {"max_timeout", 60}}}}))
                .status,
            200);
  ASSERT_EQ(sessions_.commands.size(), 2u);
  const pool::RequestedLimits& asked = sessions_.commands[1].session.limits;
  EXPECT_EQ(asked.memory_mb, 512u);
  EXPECT_EQ(asked.cpus, 0.5);
  EXPECT_EQ(asked.pids, 64u);
  EXPECT_EQ(asked.workspace_mb, 10u);
  EXPECT_EQ(asked.timeout, milliseconds(2500));
  EXPECT_EQ(asked.max_timeout, milliseconds(60000));
  sessions_.outcome = pool::ExecuteOutcome{};
  sessions_.outcome.outcome = pool::Outcome::kConflict;
  sessions_.outcome.detail = "runs another";
  EXPECT_EQ(Execute(Request({{"environment", "python"}})).status, 409);
  sessions_.outcome.outcome = pool::Outcome::kInvalid;
  EXPECT_EQ(Execute(Request({{"environment", "other"}})).status, 400);
}

}  // namespace
}  // namespace gateway
