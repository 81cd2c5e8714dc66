// The execution routes over a fake pool that the test drives: a streamed /execute answers when
// the code starts and its events are the fold's pieces ending in the plain answer; a refusal
// before the start is a plain error; a hang-up abandons it; detached executions are polled,
// followed, resumed and interrupted by id.
#include "gateway/execution_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "gateway/execution_registry.h"
#include "gateway/response_stream.h"

namespace gateway {
namespace {

using nlohmann::json;

constexpr char kToken[] = "secret";

class FakeSessions : public pool::Sessions {
 public:
  struct Call {
    pool::ExecuteCommand command;
    std::function<void(pool::ExecuteOutcome)> done;
  };
  void Execute(pool::ExecuteCommand command,
               std::function<void(pool::ExecuteOutcome)> done) override {
    calls.push_back({std::move(command), std::move(done)});
  }
  bool Release(const std::string&) override { return true; }
  void Abandon(std::uint64_t ticket) override { abandoned.push_back(ticket); }
  bool Interrupt(const std::string& user) override {
    interrupted.push_back(user);
    return true;
  }
  pool::PoolStatus Status() const override { return {}; }
  void OpenWorkspace(const std::string&, const pool::SessionOptions&,
                     std::function<void(pool::WorkspaceGrant)> done) override {
    done({.workspace = nullptr,
          .refusal = pool::WorkspaceRefusal::kUnavailable,
          .detail = "no workspaces here",
          .retry_after_seconds = 0});
  }

  // The last call: starts, prints, ends.
  void Start() { calls.back().command.on_start("w-7"); }
  void Print(const std::string& text) {
    calls.back().command.on_event({.kind = jupyter::EventKind::kStdout, .text = text});
  }
  void Finish(pool::Outcome outcome = pool::Outcome::kCompleted) {
    pool::ExecuteOutcome o;
    o.outcome = outcome;
    o.result.status = "ok";
    o.result.stdout_text = "hi\n";
    o.worker_id = "w-7";
    o.detail = outcome == pool::Outcome::kCompleted ? "" : "refused";
    calls.back().done(std::move(o));
  }

  std::vector<Call> calls;
  std::vector<std::uint64_t> abandoned;
  std::vector<std::string> interrupted;
};

class ExecutionRoutesTest : public ::testing::Test {
 protected:
  // The responses a request got (0 or 1 until the fake pool moves on).
  std::vector<HttpResponse>& Send(const std::string& method, const std::string& target,
                                  const std::string& body = "", const std::string& accept = "",
                                  std::optional<std::string> last_event_id = std::nullopt) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = kToken;
    request.body = body;
    request.accept = accept;
    request.last_event_id = std::move(last_event_id);
    request.id = ++next_id_;
    auto& responses = responses_.emplace_back();
    HandleRequest(request, config_, sessions_,
                  [&responses](HttpResponse r) { responses.push_back(std::move(r)); });
    return responses;
  }

  static std::vector<json> Lines(ResponseStream& stream) {
    std::vector<json> lines;
    std::istringstream in(stream.Take());
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }

  const std::string kBody = json{{"user_uuid", "u1"}, {"code", "print('hi')"}}.dump();
  std::uint64_t next_id_ = 0;
  std::deque<std::vector<HttpResponse>> responses_;
  RouterConfig config_{.token = kToken, .executions = std::make_shared<ExecutionRegistry>()};
  FakeSessions sessions_;
};

TEST_F(ExecutionRoutesTest, AStreamedExecuteAnswersAtItsStartAndEndsWithThePlainAnswer) {
  auto& responses = Send("POST", "/execute", kBody, "application/x-ndjson");
  EXPECT_TRUE(responses.empty()) << "nothing before the code reaches a kernel";
  sessions_.Start();
  ASSERT_EQ(responses.size(), 1u);
  ASSERT_TRUE(responses[0].stream);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].content_type, "application/x-ndjson");
  ResponseStream& stream = *responses[0].stream;
  sessions_.Print("hi\n");
  std::vector<json> lines = Lines(stream);
  ASSERT_EQ(lines.size(), 2u) << "each event is queued as it comes";
  EXPECT_EQ(lines[0]["event"], "start");
  EXPECT_EQ(lines[0]["data"]["worker_id"], "w-7");
  const std::string id = lines[0]["data"]["execution_id"];
  EXPECT_EQ(lines[1]["data"]["text"], "hi\n");
  sessions_.Finish();
  lines = Lines(stream);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["event"], "done");
  EXPECT_EQ(lines[0]["data"]["execution_id"], id);
  EXPECT_EQ(lines[0]["data"]["stdout"], "hi\n");
  EXPECT_TRUE(stream.Finished());
}

TEST_F(ExecutionRoutesTest, AStreamedExecuteRefusedBeforeItsStartIsAPlainError) {
  auto& responses = Send("POST", "/execute", kBody, "text/event-stream");
  sessions_.Finish(pool::Outcome::kQueueFull);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_FALSE(responses[0].stream);
  EXPECT_EQ(responses[0].status, 429);
  EXPECT_TRUE(json::parse(responses[0].body).contains("execution_id"));
}

TEST_F(ExecutionRoutesTest, AStreamedClientThatHangsUpAbandonsTheExecution) {
  auto& responses = Send("POST", "/execute", kBody, "text/event-stream");
  sessions_.Start();
  ASSERT_EQ(responses.size(), 1u);
  responses[0].stream->Gone();
  EXPECT_EQ(sessions_.abandoned, std::vector<std::uint64_t>{next_id_});
  sessions_.Finish(pool::Outcome::kAbandoned);  // nobody reads it; nothing breaks
}

TEST_F(ExecutionRoutesTest, ADetachedExecutionIsPolledFollowedResumedAndInterrupted) {
  auto& queued = Send("POST", "/executions", kBody);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].status, 202);
  const json created = json::parse(queued[0].body);
  const std::string id = created["execution_id"];
  EXPECT_EQ(created["state"], "queued");
  EXPECT_EQ(sessions_.calls.back().command.ticket, 0u) << "no hang-up abandons it";
  const std::string self = "/executions/" + id;
  EXPECT_EQ(created["links"]["events"], self + "/events");

  EXPECT_EQ(json::parse(Send("POST", self + "/interrupt")[0].body)["interrupted"], false)
      << "not running yet";
  sessions_.Start();
  sessions_.Print("one\n");
  EXPECT_EQ(json::parse(Send("GET", self)[0].body)["state"], "running");

  auto& follow = Send("GET", self + "/events", "", "application/x-ndjson");
  ASSERT_TRUE(follow[0].stream);
  std::vector<json> lines = Lines(*follow[0].stream);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["id"], 2);
  follow[0].stream->Gone();  // the reader goes; the execution runs on

  EXPECT_EQ(json::parse(Send("POST", self + "/interrupt")[0].body)["interrupted"], true);
  EXPECT_EQ(sessions_.interrupted, std::vector<std::string>{"u1"});
  sessions_.Print("two\n");
  sessions_.Finish();

  auto& resumed = Send("GET", self + "/events", "", "application/x-ndjson", "2");
  lines = Lines(*resumed[0].stream);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], 3);
  EXPECT_EQ(lines[0]["data"]["text"], "two\n");
  EXPECT_EQ(lines[1]["event"], "done");
  EXPECT_TRUE(resumed[0].stream->Finished());

  const json done = json::parse(Send("GET", self)[0].body);
  EXPECT_EQ(done["state"], "done");
  EXPECT_EQ(done["http_status"], 200);
  EXPECT_EQ(done["stdout"], "hi\n");
  EXPECT_EQ(done["execution_id"], id);

  auto& sse = Send("GET", self + "/events?last_event_id=3");
  EXPECT_EQ(sse[0].content_type, "text/event-stream; charset=utf-8");
  EXPECT_TRUE(sse[0].stream->Take().starts_with("id: 4\nevent: done\n"));
}

TEST_F(ExecutionRoutesTest, BadIdsMethodsAndEventIdsAreRefused) {
  EXPECT_EQ(Send("GET", "/executions/nope")[0].status, 404);
  EXPECT_EQ(Send("GET", "/executions/nope/events")[0].status, 404);
  const std::string id = json::parse(Send("POST", "/executions", kBody)[0].body)["execution_id"];
  EXPECT_EQ(Send("GET", "/executions/" + id + "/other")[0].status, 404);
  EXPECT_EQ(Send("POST", "/executions/" + id)[0].status, 405);
  EXPECT_EQ(Send("GET", "/executions/" + id + "/interrupt")[0].status, 405);
  EXPECT_EQ(Send("GET", "/executions/" + id + "/events", "", "", "x")[0].status, 400);
  EXPECT_EQ(Send("POST", "/executions", "{}")[0].status, 400);
  config_.executions = nullptr;
  EXPECT_EQ(Send("POST", "/executions", kBody)[0].status, 501);
}

}  // namespace
}  // namespace gateway
