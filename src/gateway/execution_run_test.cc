// ExecutionRun, ResponseStream, the event formats and the registry: numbering, replay after an
// id, the notice of what was dropped, the final event that always arrives, retention.
#include "gateway/execution_run.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/event_format.h"
#include "gateway/execution_registry.h"
#include "gateway/response_stream.h"

namespace gateway {
namespace {

using nlohmann::json;

jupyter::ExecutionEvent Stdout(std::string text) {
  return {.kind = jupyter::EventKind::kStdout, .text = std::move(text)};
}

// The NDJSON lines a stream holds, parsed.
std::vector<json> Lines(ResponseStream& stream) {
  std::vector<json> lines;
  std::istringstream in(stream.Take());
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

TEST(EventFormatTest, SseHasIdEventAndDataAndNdjsonOneObjectPerLine) {
  EXPECT_EQ(FormatEvent(StreamFormat::kSse, 3, "stdout", R"({"text":"a"})"),
            "id: 3\nevent: stdout\ndata: {\"text\":\"a\"}\n\n");
  EXPECT_EQ(FormatEvent(StreamFormat::kSse, 0, "dropped", "{}"), "event: dropped\ndata: {}\n\n");
  EXPECT_EQ(json::parse(FormatEvent(StreamFormat::kNdjson, 3, "stdout", R"({"text":"a"})")),
            json::parse(R"({"id":3,"event":"stdout","data":{"text":"a"}})"));
  EXPECT_EQ(StreamFormatFor("text/event-stream"), StreamFormat::kSse);
  EXPECT_EQ(StreamFormatFor("Application/X-NDJSON, */*"), StreamFormat::kNdjson);
  EXPECT_EQ(StreamFormatFor("application/json"), std::nullopt);
  EXPECT_EQ(StreamFormatFor(""), std::nullopt);
}

TEST(ResponseStreamTest, BoundsWhatIsQueuedUnlessForcedAndRefusesAllOnceGone) {
  ResponseStream stream(10);
  int wakes = 0, gone = 0;
  stream.WhenReady([&] { ++wakes; });
  stream.OnClientGone([&] { ++gone; });
  EXPECT_TRUE(stream.Write("12345678"));
  EXPECT_EQ(wakes, 1);
  EXPECT_FALSE(stream.Write("abc"));
  EXPECT_TRUE(stream.Write("abc", /*force=*/true));
  EXPECT_EQ(stream.Take(), "12345678abc");
  EXPECT_FALSE(stream.Finished());
  stream.Gone();
  EXPECT_EQ(gone, 1);
  EXPECT_FALSE(stream.Write("x", true));
  stream.End();
  EXPECT_EQ(gone, 1);
}

TEST(ExecutionRunTest, NumbersEventsAndEndsSubscribersWithTheBodyAsDone) {
  ExecutionRun run("ex-1", "u", 1 << 20);
  auto stream = std::make_shared<ResponseStream>(1 << 20);
  run.Subscribe(stream, StreamFormat::kNdjson, 0);
  run.Start("w-1");
  run.Add(Stdout("hi\n"));
  run.Finish(200, R"({"stdout":"hi\n"})", json::array({{{"path", "/sandbox/a"}}}));
  const std::vector<json> lines = Lines(*stream);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["event"], "start");
  EXPECT_EQ(lines[0]["data"]["execution_id"], "ex-1");
  EXPECT_EQ(lines[0]["data"]["worker_id"], "w-1");
  EXPECT_EQ(lines[1]["event"], "stdout");
  EXPECT_EQ(lines[1]["data"]["text"], "hi\n");
  EXPECT_EQ(lines[2]["event"], "files");
  EXPECT_EQ(lines[3]["event"], "done");
  EXPECT_EQ(lines[3]["data"]["stdout"], "hi\n");
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["id"], i + 1);
  EXPECT_TRUE(stream->Finished());
  EXPECT_EQ(run.state(), ExecutionRun::State::kDone);
  EXPECT_EQ(run.http_status(), 200);
}

TEST(ExecutionRunTest, ALateSubscriberGetsWhatIsKeptAfterItsIdThenLiveEvents) {
  ExecutionRun run("ex-1", "u", 1 << 20);
  run.Start("w-1");
  run.Add(Stdout("a"));
  run.Add(Stdout("b"));
  auto stream = std::make_shared<ResponseStream>(1 << 20);
  run.Subscribe(stream, StreamFormat::kNdjson, 2);  // it had 1 and 2
  run.Add(Stdout("c"));
  std::vector<json> lines = Lines(*stream);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], 3);
  EXPECT_EQ(lines[0]["data"]["text"], "b");
  EXPECT_EQ(lines[1]["id"], 4);
  run.Finish(200, "{}", nullptr);
  lines = Lines(*stream);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["event"], "done");

  // After it ended: the rest, then the end.
  auto late = std::make_shared<ResponseStream>(1 << 20);
  run.Subscribe(late, StreamFormat::kNdjson, 3);
  lines = Lines(*late);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], 4);
  EXPECT_EQ(lines[1]["event"], "done");
  EXPECT_TRUE(late->Finished());
}

TEST(ExecutionRunTest, EventsNoLongerKeptAreNamedInADroppedNotice) {
  ExecutionRun run("ex-1", "u", 10);  // room for about one event's data
  run.Start("w-1");                   // too large to keep: dropped at once
  run.Add(Stdout("a"));
  run.Add(Stdout("b"));
  auto stream = std::make_shared<ResponseStream>(1 << 20);
  run.Subscribe(stream, StreamFormat::kNdjson, 0);
  const std::vector<json> lines = Lines(*stream);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0]["event"], "dropped");
  EXPECT_FALSE(lines[0].contains("id"));
  EXPECT_EQ(lines[0]["data"]["from"], 1);
  const std::uint64_t to = lines[0]["data"]["to"];
  EXPECT_GE(to, 2u);
  if (lines.size() > 1) {
    EXPECT_EQ(lines[1]["id"], to + 1);
  }
}

TEST(ExecutionRunTest, ASlowReaderIsToldWhatItMissedAndStillGetsDone) {
  ExecutionRun run("ex-1", "u", 1 << 20);
  auto stream = std::make_shared<ResponseStream>(200);
  run.Subscribe(stream, StreamFormat::kNdjson, 0);
  run.Start("w-1");
  for (int i = 0; i < 10; ++i) run.Add(Stdout(std::string(40, 'x')));
  run.Finish(200, R"({"done":true})", nullptr);
  const std::vector<json> lines = Lines(*stream);
  ASSERT_GE(lines.size(), 3u);
  const json& notice = lines[lines.size() - 2];
  EXPECT_EQ(notice["event"], "dropped");
  EXPECT_EQ(notice["data"]["to"], 11);
  EXPECT_EQ(lines.back()["event"], "done");
  EXPECT_EQ(lines.back()["data"]["done"], true);
}

TEST(ExecutionRunTest, AGoneClientIsForgottenAndTheRunGoesOn) {
  ExecutionRun run("ex-1", "u", 1 << 20);
  auto stream = std::make_shared<ResponseStream>(1 << 20);
  run.Subscribe(stream, StreamFormat::kSse, 0);
  stream->Gone();
  run.Start("w-1");
  run.Finish(200, "{}", nullptr);
  EXPECT_EQ(stream->Take(), "");
  EXPECT_EQ(run.last_event_id(), 2u);
}

TEST(ExecutionRegistryTest, ForgetsOldestFinishedRunsOverItsBoundsButNeverRunningOnes) {
  ExecutionRegistry registry({.max_executions = 2,
                              .max_events_bytes = 1 << 10,
                              .max_total_bytes = 1 << 20,
                              .keep_finished = std::chrono::hours(1)});
  auto first = registry.Create("a", "u");
  auto second = registry.Create("b", "u");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(registry.Create("c", "u"), nullptr);  // both run
  first->Finish(200, "{}", nullptr);
  EXPECT_NE(registry.Create("c", "u"), nullptr);  // "a" made room
  EXPECT_EQ(registry.Find("a"), nullptr);
  EXPECT_EQ(registry.Find("b"), second);
}

TEST(ExecutionRegistryTest, ForgetsFinishedRunsAfterTheirTime) {
  ExecutionRegistry registry({.keep_finished = std::chrono::seconds(0)});
  auto run = registry.Create("a", "u");
  EXPECT_EQ(registry.Find("a"), run);
  run->Finish(200, "{}", nullptr);
  EXPECT_EQ(registry.Find("a"), nullptr);
}

}  // namespace
}  // namespace gateway
