// The /api/v1 layout against the seed's: the same requests reach the pool the same way, and
// the same outcomes come back with the later layout's status codes.
#include "gateway/v1_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/router.h"

namespace gateway {
namespace {

using nlohmann::json;

constexpr const char* kToken = "test-token-0123456789abcdef";

// Records commands and answers each at once with the preset outcome.
class FakeSessions : public pool::Sessions {
 public:
  void Execute(pool::ExecuteCommand command,
               std::function<void(pool::ExecuteOutcome)> done) override {
    commands.push_back(std::move(command));
    done(outcome);
  }
  bool Release(const std::string& user) override {
    released.push_back(user);
    return true;
  }
  pool::PoolStatus Status() const override { return {}; }
  void OpenWorkspace(const std::string&, const pool::SessionOptions&,
                     std::function<void(pool::WorkspaceGrant)> done) override {
    done({.workspace = nullptr,
          .refusal = pool::WorkspaceRefusal::kUnavailable,
          .detail = "none",
          .retry_after_seconds = 0});
  }

  pool::ExecuteOutcome outcome;
  std::vector<pool::ExecuteCommand> commands;
  std::vector<std::string> released;
};

class V1RoutesTest : public ::testing::Test {
 protected:
  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = kToken;
    request.body = body;
    request.id = ++next_id_;
    HttpResponse response;
    int responses = 0;
    HandleRequest(request, config_, sessions_, [&](HttpResponse r) {
      ++responses;
      response = std::move(r);
    });
    EXPECT_EQ(responses, 1) << target;
    return response;
  }
  static json Body(const HttpResponse& response) { return json::parse(response.body); }
  // The status codes of one outcome through the seed's /execute and through /api/v1/execute.
  std::pair<int, int> Statuses() {
    const int seed = Send("POST", "/execute", R"({"user_uuid": "u", "code": "x"})").status;
    const int v1 = Send("POST", "/api/v1/execute?user_uuid=u", R"({"code": "x"})").status;
    return {seed, v1};
  }

  RouterConfig config_{.token = kToken};
  FakeSessions sessions_;
  std::uint64_t next_id_ = 0;
};

TEST_F(V1RoutesTest, TheSameOutcomesGetTheLaterLayoutsStatusCodes) {
  using pool::Outcome;
  sessions_.outcome.result.status = "ok";
  EXPECT_EQ(Statuses(), std::pair(200, 200));
  sessions_.outcome.result.status = "error";
  EXPECT_EQ(Statuses(), std::pair(400, 200)) << "a Python exception";
  const struct {
    Outcome outcome;
    int seed, v1;
  } cases[] = {
      {Outcome::kTimedOut, 400, 503},     {Outcome::kKernelDied, 400, 503},
      {Outcome::kInvalid, 400, 422},      {Outcome::kConflict, 409, 409},
      {Outcome::kQueueFull, 429, 429},    {Outcome::kNoCapacity, 503, 503},
      {Outcome::kShuttingDown, 503, 503},
  };
  for (const auto& c : cases) {
    sessions_.outcome.outcome = c.outcome;
    sessions_.outcome.detail = "why";
    EXPECT_EQ(Statuses(), std::pair(c.seed, c.v1)) << static_cast<int>(c.outcome);
  }
  EXPECT_EQ(sessions_.commands.size(), 2u * (2 + std::size(cases)));
}

TEST_F(V1RoutesTest, AnExceptionsTextIsInResultTextBesideTheErrorObject) {
  sessions_.outcome.result.status = "error";
  sessions_.outcome.result.stdout_text = "before\n";
  sessions_.outcome.result.error = jupyter::ExecutionError{
      .ename = "ZeroDivisionError",
      .evalue = "division by zero",
      .traceback = {"Cell In [1], line 1\n----> 1 1/0\n", "ZeroDivisionError: division by zero"}};
  sessions_.outcome.worker_id = "w-7";
  const json v1 = Body(Send("POST", "/api/v1/execute?user_uuid=u", R"({"code": "1/0"})"));
  EXPECT_EQ(v1["result_text"],
            "before\nCell In [1], line 1\n----> 1 1/0\nZeroDivisionError: division by zero\n");
  EXPECT_EQ(v1["error"]["ename"], "ZeroDivisionError");
  EXPECT_EQ(v1["worker_id"], "w-7");
  EXPECT_FALSE(v1.contains("detail")) << "a 200 carries no detail";
  const json seed = Body(Send("POST", "/execute", R"({"user_uuid": "u", "code": "1/0"})"));
  EXPECT_EQ(seed["result_text"], "before\n") << "the seed's layout is unchanged";
  EXPECT_FALSE(seed.contains("worker_id"));
}

TEST_F(V1RoutesTest, TheQueryNamesTheUserAndTheBodyTheRest) {
  sessions_.outcome.result.status = "ok";
  const HttpResponse reply =
      Send("POST", "/api/v1/execute?user_uuid=from-query",
           R"({"code": "1+1", "timeout": 5, "user_uuid": "from-body", "environment": "minimal"})");
  EXPECT_EQ(reply.status, 200) << reply.body;
  ASSERT_EQ(sessions_.commands.size(), 1u);
  EXPECT_EQ(sessions_.commands[0].user, "from-query");
  EXPECT_EQ(sessions_.commands[0].code, "1+1");
  EXPECT_EQ(sessions_.commands[0].timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(sessions_.commands[0].session.environment, "minimal");
  EXPECT_NE(sessions_.commands[0].ticket, 0u) << "a hang-up can abandon it";
}

TEST_F(V1RoutesTest, InvalidInputIs422WithWhereItWas) {
  const struct {
    std::string target, body;
    json loc;
  } cases[] = {
      {"/api/v1/execute", R"({"code": "1"})", {"query", "user_uuid"}},
      {"/api/v1/execute?user_uuid=", R"({"code": "1"})", {"query", "user_uuid"}},
      {"/api/v1/execute?user_uuid=" + std::string(300, 'u'),
       R"({"code": "1"})",
       {"query", "user_uuid"}},
      {"/api/v1/execute?user_uuid=u", "{not json", {"body"}},
      {"/api/v1/execute?user_uuid=u", "{}", {"body", "code"}},
      {"/api/v1/execute?user_uuid=u", R"({"code": 5})", {"body", "code"}},
      {"/api/v1/execute?user_uuid=u", R"({"code": "x\u0000"})", {"body", "code"}},
      {"/api/v1/execute?user_uuid=u", R"({"code": "1", "timeout": -1})", {"body", "timeout"}},
      {"/api/v1/execute?user_uuid=u",
       R"({"code": "1", "limits": {"memory_mb": "a"}})",
       {"body", "limits", "memory_mb"}},
      {"/api/v1/release", "", {"query", "user_uuid"}},
  };
  for (const auto& c : cases) {
    const HttpResponse reply = Send("POST", c.target, c.body);
    EXPECT_EQ(reply.status, 422) << c.target << " " << c.body;
    const json detail = Body(reply)["detail"];
    ASSERT_TRUE(detail.is_array() && !detail.empty()) << reply.body;
    EXPECT_EQ(detail[0]["loc"], c.loc) << reply.body;
    EXPECT_TRUE(detail[0]["msg"].is_string());
  }
  EXPECT_TRUE(sessions_.commands.empty());
  EXPECT_TRUE(sessions_.released.empty());
}

TEST_F(V1RoutesTest, ReleaseIs204AndStatusIsTheSeedsStatus) {
  const HttpResponse released = Send("POST", "/api/v1/release?user_uuid=someone");
  EXPECT_EQ(released.status, 204);
  EXPECT_TRUE(released.body.empty());
  EXPECT_EQ(sessions_.released, std::vector<std::string>{"someone"});
  EXPECT_EQ(Send("GET", "/api/v1/status").body, Send("GET", "/status").body);
  EXPECT_EQ(Send("GET", "/api/v1/execute").status, 405);
}

}  // namespace
}  // namespace gateway
