// Streaming and detached executions against real kernels over real HTTP: events as they happen
// (NDJSON and Server-Sent Events), the final event is the plain answer, a hang-up interrupts a
// streamed /execute but not a detached execution, which is resumed after Last-Event-ID and
// interrupted by id, and the output caps bound the stream as they bound the answer.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/event_stream.h"
#include "support/server_process.h"

namespace {

using nlohmann::json;
using testing_support::EventStream;
using testing_support::HttpClient;
using testing_support::ServerProcess;

class StreamingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--min-idle", "2", "--max-workers", "12", "--interrupt-grace", "3",
                                 "--max-output-text", "100000"});
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  EventStream Stream(const std::string& method, const std::string& path, const json& body = {},
                     std::map<std::string, std::string> headers = {}) const {
    headers.emplace("X-Auth-Token", server_->token());
    headers.emplace("Accept", "application/x-ndjson");
    return EventStream(server_->port(), method, path, body.is_null() ? "" : body.dump(), headers);
  }

  // Every event until the end (or a minute), in order.
  static std::vector<EventStream::Event> Drain(EventStream& stream) {
    std::vector<EventStream::Event> events;
    while (auto event = stream.Next()) events.push_back(std::move(*event));
    return events;
  }

  HttpClient client() const { return server_->Client(); }

  static ServerProcess* server_;
};

ServerProcess* StreamingTest::server_ = nullptr;

TEST_F(StreamingTest, EachPrintArrivesWhileTheCellRunsAndDoneIsThePlainAnswer) {
  EventStream stream = Stream(
      "POST", "/execute",
      {{"user_uuid", "stream-1"},
       {"code", "import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')\n6 * 7"}});
  ASSERT_EQ(stream.status(), 200) << stream.plain_body();
  EXPECT_EQ(stream.headers().at("content-type"), "application/x-ndjson");
  const std::vector<EventStream::Event> events = Drain(stream);
  ASSERT_TRUE(stream.ended());
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.front().json["event"], "start");
  const json& start = events.front().json["data"];
  EXPECT_TRUE(start["worker_id"].get<std::string>().starts_with("w-"));

  std::string stdout_text;
  const EventStream::Event* first = nullptr;
  for (const auto& event : events) {
    if (event.json["event"] != "stdout") continue;
    if (first == nullptr) first = &event;
    stdout_text += event.json["data"]["text"].get<std::string>();
  }
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->json["data"]["text"], "first\n");
  const EventStream::Event& done = events.back();
  EXPECT_EQ(done.json["event"], "done");
  // The cell sleeps 2 s after its first print: that print must not wait for the end.
  EXPECT_GT(done.received - first->received, std::chrono::milliseconds(1000));

  const json& answer = done.json["data"];
  EXPECT_EQ(answer["execution_id"], start["execution_id"]);
  EXPECT_EQ(answer["stdout"], stdout_text) << "the answer is the fold of the events";
  EXPECT_EQ(answer["result_text"], "first\nsecond\n42");
  bool saw_result = false;
  for (const auto& event : events) saw_result |= event.json["event"] == "result";
  EXPECT_TRUE(saw_result);
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].json["id"], i + 1);

  // The plain answer of the same cell has the same shape, with its own id.
  const auto plain = client().Execute("stream-1", "print('first')\nprint('second')\n6 * 7");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.Json()["result_text"], "first\nsecond\n42");
  EXPECT_NE(plain.Json()["execution_id"], answer["execution_id"]);
}

TEST_F(StreamingTest, ServerSentEventsCarryIdEventAndData) {
  EventStream stream =
      Stream("POST", "/execute", {{"user_uuid", "stream-sse"}, {"code", "print('hi')"}},
             {{"Accept", "text/event-stream"}});
  ASSERT_EQ(stream.status(), 200) << stream.plain_body();
  EXPECT_EQ(stream.headers().at("content-type"), "text/event-stream; charset=utf-8");
  const std::string body = stream.Rest();
  EXPECT_TRUE(body.starts_with("id: 1\nevent: start\ndata: {")) << body;
  EXPECT_NE(body.find("event: stdout\ndata: {\"text\":\"hi\\n\"}\n\n"), std::string::npos) << body;
  EXPECT_NE(body.find("event: done\ndata: {"), std::string::npos) << body;
}

TEST_F(StreamingTest, ARefusalBeforeTheStartIsAPlainError) {
  EventStream stream =
      Stream("POST", "/execute",
             {{"user_uuid", "stream-bad"}, {"code", "1"}, {"environment", "no-such-env"}});
  EXPECT_EQ(stream.status(), 400);
  const json body = json::parse(stream.plain_body(), nullptr, false);
  EXPECT_TRUE(body.contains("detail")) << stream.plain_body();
  EXPECT_TRUE(body.contains("execution_id")) << stream.plain_body();
}

TEST_F(StreamingTest, HangingUpOnAStreamedExecuteInterruptsItAndKeepsTheState) {
  {
    EventStream stream =
        Stream("POST", "/execute",
               {{"user_uuid", "stream-hangup"},
                {"code", "import time\nx = 5\nprint('waiting', flush=True)\ntime.sleep(120)"}});
    ASSERT_EQ(stream.status(), 200);
    while (auto event = stream.Next()) {
      if (event->json["event"] == "stdout") break;
    }
    stream.Close();
  }
  // Queued behind the interrupted one: answers once the interrupt took, long before 120 s.
  const auto reply = client().Execute("stream-hangup", "x");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["result_text"], "5");
}

TEST_F(StreamingTest, ADetachedExecutionOutlivesItsReaderAndResumesAfterTheLastEventId) {
  const auto created = client().Post(
      "/executions",
      json{{"user_uuid", "detached-1"},
           {"code", "import time\nprint('a', flush=True)\ntime.sleep(1)\nprint('b')\n'end'"}}
          .dump());
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.Json()["execution_id"];
  EXPECT_EQ(created.headers.at("location"), "/executions/" + id);

  std::uint64_t seen = 0;
  {
    EventStream stream = Stream("GET", "/executions/" + id + "/events");
    ASSERT_EQ(stream.status(), 200);
    while (auto event = stream.Next()) {
      seen = event->json["id"];
      if (event->json["event"] == "stdout") break;
    }
    stream.Close();  // the reader goes; the execution goes on
  }
  ASSERT_GT(seen, 0u);
  EventStream resumed =
      Stream("GET", "/executions/" + id + "/events", {}, {{"Last-Event-ID", std::to_string(seen)}});
  const std::vector<EventStream::Event> rest = Drain(resumed);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.front().json["id"], seen + 1) << "nothing repeated, nothing skipped";
  EXPECT_EQ(rest.back().json["event"], "done");
  EXPECT_EQ(rest.back().json["data"]["stdout"], "a\nb\n");

  const auto state = client().Get("/executions/" + id);
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.Json()["state"], "done");
  EXPECT_EQ(state.Json()["http_status"], 200);
  EXPECT_EQ(state.Json()["result_text"], "a\nb\n'end'");
  EXPECT_EQ(state.Json()["execution_id"], id);
  EXPECT_EQ(client().Get("/executions/ex-unknown").status, 404);
}

TEST_F(StreamingTest, ADetachedExecutionIsInterruptedByIdAndKeepsTheState) {
  const auto created = client().Post(
      "/executions", json{{"user_uuid", "detached-2"},
                          {"code", "import time\ny = 1\nprint('go', flush=True)\ntime.sleep(120)"}}
                         .dump());
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.Json()["execution_id"];
  EventStream stream = Stream("GET", "/executions/" + id + "/events");
  while (auto event = stream.Next()) {
    if (event->json["event"] == "stdout") break;
  }
  const auto interrupted = client().Post("/executions/" + id + "/interrupt", "");
  ASSERT_EQ(interrupted.status, 200) << interrupted.body;
  EXPECT_EQ(interrupted.Json()["interrupted"], true);
  const std::vector<EventStream::Event> rest = Drain(stream);
  ASSERT_FALSE(rest.empty());
  const json& done = rest.back().json;
  ASSERT_EQ(done["event"], "done");
  EXPECT_EQ(done["data"]["interrupted"], true);
  EXPECT_EQ(done["data"]["state_preserved"], true);
  EXPECT_EQ(client().Execute("detached-2", "y").Json()["result_text"], "1");
}

TEST_F(StreamingTest, TheOutputCapBoundsTheStreamAsItBoundsTheAnswer) {
  EventStream stream =
      Stream("POST", "/execute",
             {{"user_uuid", "stream-cap"},
              {"code", "for i in range(3000):\n    print('x' * 99, flush=(i % 100 == 0))"}});
  ASSERT_EQ(stream.status(), 200);
  std::size_t streamed = 0;
  json done;
  for (const auto& event : Drain(stream)) {
    if (event.json["event"] == "stdout")
      streamed += event.json["data"]["text"].get<std::string>().size();
    if (event.json["event"] == "done") done = event.json["data"];
  }
  EXPECT_LE(streamed, 100000u);
  EXPECT_EQ(done["truncated"], true);
  EXPECT_EQ(done["stdout"].get<std::string>().size(), streamed);
}

TEST_F(StreamingTest, TheLaterLayoutStreamsTooWithItsWorkerId) {
  EventStream stream = Stream("POST", "/api/v1/execute?user_uuid=stream-v1", {{"code", "1 + 1"}});
  ASSERT_EQ(stream.status(), 200) << stream.plain_body();
  const std::vector<EventStream::Event> events = Drain(stream);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().json["data"]["result_text"], "2");
  EXPECT_EQ(events.back().json["data"]["worker_id"], events.front().json["data"]["worker_id"]);
}

}  // namespace

namespace {

// With --log-format=json, the log line of an execution carries the execution_id its client got.
TEST(StreamingLogTest, TheJsonLogNamesTheExecutionIdTheClientGot) {
  ::setenv("CODE_INTERPRETER_LOG_FORMAT", "json", 1);  // inherited by the server
  ::setenv("CODE_INTERPRETER_LOG_LEVEL", "debug", 1);
  testing_support::ServerProcess server({"--min-idle", "1"}, {});
  ::unsetenv("CODE_INTERPRETER_LOG_FORMAT");
  ::unsetenv("CODE_INTERPRETER_LOG_LEVEL");
  ASSERT_TRUE(server.ok()) << server.Log();
  const auto reply = server.Client().Execute("logged", "1 + 1");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string id = reply.Json()["execution_id"];
  const bool logged = testing_support::WaitFor(
      [&] {
        const std::string log = server.Log();
        for (std::size_t at = log.find(id); at != std::string::npos; at = log.find(id, at + 1)) {
          const std::size_t start = log.rfind('\n', at) + 1;
          const json line =
              json::parse(log.substr(start, log.find('\n', at) - start), nullptr, false);
          if (line.is_object() && line.value("execution_id", "") == id &&
              line.value("user", "") == "logged")
            return true;
        }
        return false;
      },
      10);
  EXPECT_TRUE(logged) << server.Log();
}

}  // namespace
