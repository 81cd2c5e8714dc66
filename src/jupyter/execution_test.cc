#include "jupyter/execution.h"

#include <gtest/gtest.h>

#include <string>

#include "common/text.h"

namespace jupyter {
namespace {

using nlohmann::json;

Message Msg(const std::string& msg_type, json content) {
  Message message;
  message.header = {{"msg_id", NewId()}, {"msg_type", msg_type}};
  message.parent_header = {{"msg_id", "request-1"}};
  message.content = std::move(content);
  return message;
}

Message Stream(const std::string& name, const std::string& text) {
  return Msg("stream", {{"name", name}, {"text", text}});
}

Message Display(json data) {
  return Msg("display_data", {{"data", std::move(data)}, {"metadata", json::object()}});
}

Message ExecuteResult(json data, long long count) {
  return Msg("execute_result",
             {{"data", std::move(data)}, {"metadata", json::object()}, {"execution_count", count}});
}

Message Status(const std::string& state) { return Msg("status", {{"execution_state", state}}); }

Message ClearOutput(bool wait) { return Msg("clear_output", {{"wait", wait}}); }

Message Reply(json content) { return Msg("execute_reply", std::move(content)); }

json ErrorContent(const std::string& ename, const std::string& evalue) {
  return {{"ename", ename},
          {"evalue", evalue},
          {"traceback",
           {"\x1b[0;31m" + std::string(75, '-') + "\x1b[0m",
            "\x1b[0;31m" + ename + "\x1b[0m: " + evalue}}};
}

class OutputCollectorTest : public ::testing::Test {
 protected:
  explicit OutputCollectorTest(OutputLimits limits = {}) : collector_(limits) {}
  ExecutionResult& result() { return collector_.result(); }

  OutputCollector collector_;
};

TEST_F(OutputCollectorTest, KeepsStdoutAndStderrApart) {
  collector_.OnIopub(Stream("stdout", "one\n"));
  collector_.OnIopub(Stream("stderr", "warning\n"));
  collector_.OnIopub(Stream("stdout", "two\n"));
  EXPECT_EQ(result().stdout_text, "one\ntwo\n");
  EXPECT_EQ(result().stderr_text, "warning\n");
  EXPECT_TRUE(result().outputs.empty()) << "streams are not display outputs";
  EXPECT_FALSE(result().truncated);
}

TEST_F(OutputCollectorTest, ExecuteResultSetsResultTextAndExecutionCount) {
  collector_.OnIopub(ExecuteResult({{"text/plain", "42"}}, 7));
  EXPECT_EQ(result().result_text, "42");
  ASSERT_TRUE(result().execution_count.has_value());
  EXPECT_EQ(*result().execution_count, 7);
  ASSERT_EQ(result().outputs.size(), 1u);
  EXPECT_EQ(result().outputs[0]["type"], "execute_result");
  EXPECT_EQ(result().outputs[0]["data"]["text/plain"], "42");
}

TEST_F(OutputCollectorTest, DisplayDataDoesNotSetResultText) {
  collector_.OnIopub(Display({{"text/plain", "shown"}}));
  EXPECT_EQ(result().result_text, "");
  EXPECT_FALSE(result().execution_count.has_value());
  ASSERT_EQ(result().outputs.size(), 1u);
  EXPECT_EQ(result().outputs[0]["type"], "display_data");
}

TEST_F(OutputCollectorTest, ImagesAppearInOutputsAndLastPngIsTheLastOne) {
  EXPECT_EQ(result().LastPng(), nullptr);
  collector_.OnIopub(Display({{"image/png", "FIRSTPNG"}, {"text/plain", "<Figure 1>"}}));
  collector_.OnIopub(Display({{"text/html", "<b>no image</b>"}}));
  collector_.OnIopub(Display({{"image/png", "SECONDPNG"}}));
  collector_.OnIopub(Display({{"image/svg+xml", "<svg/>"}}));
  ASSERT_EQ(result().outputs.size(), 4u);
  EXPECT_EQ(result().outputs[0]["data"]["image/png"], "FIRSTPNG");
  EXPECT_EQ(result().outputs[0]["data"]["text/plain"], "<Figure 1>");
  const json* png = result().LastPng();
  ASSERT_NE(png, nullptr);
  EXPECT_EQ(*png, "SECONDPNG");
}

TEST_F(OutputCollectorTest, ErrorFillsFieldsWithAnsiRemoved) {
  collector_.OnIopub(Msg("error", ErrorContent("NameError", "name 'x' is not defined")));
  ASSERT_TRUE(result().error.has_value());
  EXPECT_EQ(result().error->ename, "NameError");
  EXPECT_EQ(result().error->evalue, "name 'x' is not defined");
  ASSERT_EQ(result().error->traceback.size(), 2u);
  EXPECT_EQ(result().error->traceback[0], std::string(75, '-'));
  EXPECT_EQ(result().error->traceback[1], "NameError: name 'x' is not defined");
}

TEST_F(OutputCollectorTest, ReplyWithErrorStatusFillsErrorWhenNoIopubErrorCame) {
  json content = ErrorContent("ZeroDivisionError", "division by zero");
  content["status"] = "error";
  content["execution_count"] = 3;
  collector_.OnReply(Reply(content));
  EXPECT_TRUE(result().got_reply);
  EXPECT_EQ(result().status, "error");
  EXPECT_EQ(result().execution_count, 3);
  ASSERT_TRUE(result().error.has_value());
  EXPECT_EQ(result().error->ename, "ZeroDivisionError");
  EXPECT_EQ(result().error->evalue, "division by zero");
  ASSERT_EQ(result().error->traceback.size(), 2u);
  EXPECT_EQ(result().error->traceback[1], "ZeroDivisionError: division by zero");
}

TEST_F(OutputCollectorTest, ReplyDoesNotOverrideTheIopubError) {
  collector_.OnIopub(Msg("error", ErrorContent("KeyError", "'a'")));
  json content = ErrorContent("OtherError", "from reply");
  content["status"] = "error";
  collector_.OnReply(Reply(content));
  ASSERT_TRUE(result().error.has_value());
  EXPECT_EQ(result().error->ename, "KeyError");
  EXPECT_EQ(result().error->evalue, "'a'");
}

TEST_F(OutputCollectorTest, OkReplyLeavesErrorEmpty) {
  collector_.OnReply(Reply({{"status", "ok"}, {"execution_count", 1}}));
  EXPECT_EQ(result().status, "ok");
  EXPECT_EQ(result().execution_count, 1);
  EXPECT_FALSE(result().error.has_value());
}

TEST_F(OutputCollectorTest, ClearOutputWithoutWaitClearsAtOnce) {
  collector_.OnIopub(Stream("stdout", "old out"));
  collector_.OnIopub(Stream("stderr", "old err"));
  collector_.OnIopub(ExecuteResult({{"text/plain", "old"}}, 1));
  collector_.OnIopub(ClearOutput(false));
  EXPECT_EQ(result().stdout_text, "");
  EXPECT_EQ(result().stderr_text, "");
  EXPECT_TRUE(result().outputs.empty());
  EXPECT_EQ(result().result_text, "");
  collector_.OnIopub(Stream("stdout", "new"));
  EXPECT_EQ(result().stdout_text, "new");
}

TEST_F(OutputCollectorTest, ClearOutputWithWaitClearsAtTheNextOutput) {
  collector_.OnIopub(Stream("stdout", "frame 1"));
  collector_.OnIopub(Display({{"text/plain", "plot 1"}}));
  collector_.OnIopub(ClearOutput(true));
  EXPECT_EQ(result().stdout_text, "frame 1") << "nothing is cleared before new output arrives";
  EXPECT_EQ(result().outputs.size(), 1u);
  collector_.OnIopub(Stream("stdout", "frame 2"));
  EXPECT_EQ(result().stdout_text, "frame 2");
  EXPECT_TRUE(result().outputs.empty());
  collector_.OnIopub(Display({{"text/plain", "plot 2"}}));
  EXPECT_EQ(result().stdout_text, "frame 2") << "the pending clear was applied only once";
  ASSERT_EQ(result().outputs.size(), 1u);
}

TEST_F(OutputCollectorTest, PendingClearAlsoAppliesToDisplayOutput) {
  collector_.OnIopub(Display({{"image/png", "OLDPNG"}}));
  collector_.OnIopub(ClearOutput(true));
  collector_.OnIopub(Display({{"image/png", "NEWPNG"}}));
  ASSERT_EQ(result().outputs.size(), 1u);
  ASSERT_NE(result().LastPng(), nullptr);
  EXPECT_EQ(*result().LastPng(), "NEWPNG");
}

TEST_F(OutputCollectorTest, StatusIdleSetsGotIdle) {
  collector_.OnIopub(Status("busy"));
  EXPECT_FALSE(result().got_idle);
  collector_.OnIopub(Status("idle"));
  EXPECT_TRUE(result().got_idle);
}

TEST_F(OutputCollectorTest, CompleteNeedsReplyAndIdle) {
  EXPECT_FALSE(result().Complete());
  collector_.OnIopub(Status("idle"));
  EXPECT_FALSE(result().Complete()) << "idle without reply";
  collector_.OnReply(Reply({{"status", "ok"}}));
  EXPECT_TRUE(result().Complete());

  OutputCollector other(OutputLimits{});
  other.OnReply(Reply({{"status", "ok"}}));
  EXPECT_FALSE(other.result().Complete()) << "reply without idle";
  other.OnIopub(Status("idle"));
  EXPECT_TRUE(other.result().Complete());
}

class SmallTextCapTest : public OutputCollectorTest {
 protected:
  SmallTextCapTest() : OutputCollectorTest({.max_text_bytes = 10, .max_image_bytes = 1 << 20}) {}
};

TEST_F(SmallTextCapTest, TruncatesTextAtTheCapWithoutSplittingUtf8) {
  collector_.OnIopub(Stream("stdout", "abcdefgh"));
  EXPECT_FALSE(result().truncated);
  collector_.OnIopub(Stream("stdout", "x\xC3\xA9yz"));  // only 2 bytes of room: "x" + half of é
  EXPECT_TRUE(result().truncated);
  EXPECT_EQ(result().stdout_text, "abcdefghx");
  EXPECT_TRUE(common::IsValidUtf8(result().stdout_text));
  collector_.OnIopub(Stream("stderr", "more"));
  collector_.OnIopub(Stream("stdout", "more"));
  EXPECT_LE(result().stdout_text.size() + result().stderr_text.size(), 10u);
  EXPECT_TRUE(result().stdout_text.starts_with("abcdefghx"));
}

TEST_F(SmallTextCapTest, StreamsShareOneBudget) {
  collector_.OnIopub(Stream("stdout", "123456"));
  collector_.OnIopub(Stream("stderr", "abcdef"));
  EXPECT_EQ(result().stdout_text, "123456");
  EXPECT_EQ(result().stderr_text, "abcd");
  EXPECT_TRUE(result().truncated);
}

TEST_F(SmallTextCapTest, TextualMimeDataCountsTowardsTheCap) {
  collector_.OnIopub(Stream("stdout", "12345678"));
  collector_.OnIopub(ExecuteResult({{"text/plain", "'a long repr'"}}, 1));
  EXPECT_TRUE(result().truncated);
  ASSERT_EQ(result().outputs.size(), 1u);
  EXPECT_FALSE(result().outputs[0]["data"].contains("text/plain"));
  EXPECT_EQ(result().result_text, "");
  EXPECT_EQ(result().execution_count, 1);
}

class SmallImageCapTest : public OutputCollectorTest {
 protected:
  SmallImageCapTest() : OutputCollectorTest({.max_text_bytes = 1 << 20, .max_image_bytes = 100}) {}
};

TEST_F(SmallImageCapTest, DropsOverCapImageButKeepsItsText) {
  collector_.OnIopub(Display({{"image/png", std::string(200, 'A')}, {"text/plain", "<Figure>"}}));
  EXPECT_TRUE(result().truncated);
  ASSERT_EQ(result().outputs.size(), 1u);
  const json& data = result().outputs[0]["data"];
  EXPECT_FALSE(data.contains("image/png"));
  EXPECT_EQ(data["text/plain"], "<Figure>");
  EXPECT_EQ(result().LastPng(), nullptr);
}

TEST_F(SmallImageCapTest, DroppedImageDoesNotUseUpTheBudget) {
  collector_.OnIopub(Display({{"image/png", std::string(200, 'A')}}));
  collector_.OnIopub(Display({{"image/png", std::string(50, 'B')}}));
  const json* png = result().LastPng();
  ASSERT_NE(png, nullptr);
  EXPECT_EQ(*png, std::string(50, 'B'));
  collector_.OnIopub(Display({{"image/png", std::string(50, 'C')}}));
  EXPECT_EQ(*result().LastPng(), std::string(50, 'B'))
      << "50 + 50 bytes plus MIME names exceed 100";
}

// Found by a red team: display(..., metadata={'m': 'x' * 60000}) in a loop grew a response to
// hundreds of MB with truncated false, and a 20 MB exception message came back whole twice.
class TotalCapTest : public OutputCollectorTest {
 protected:
  TotalCapTest()
      : OutputCollectorTest({.max_text_bytes = 1000,
                             .max_image_bytes = 1000,
                             .max_total_bytes = 100000,
                             .max_metadata_bytes = 64 << 10}) {}
};

TEST_F(TotalCapTest, MetadataAndTheNumberOfOutputsCountAgainstTheTotal) {
  for (int i = 0; i < 1000; ++i) {
    collector_.OnIopub(Msg("display_data", {{"data", json::object()},
                                            {"metadata", {{"m", std::string(30000, 'x')}}}}));
  }
  EXPECT_TRUE(result().truncated);
  EXPECT_LE(result().outputs.dump().size(), 100000u + 4096u);
}

TEST_F(TotalCapTest, AFloodOfEmptyOutputsIsBoundedToo) {
  for (int i = 0; i < 100000; ++i) collector_.OnIopub(Display(json::object()));
  EXPECT_TRUE(result().truncated);
  EXPECT_LT(result().outputs.size(), 100000u / 64 + 1);
}

TEST_F(TotalCapTest, MetadataOverItsOwnCapIsLeftOutAndSaysSo) {
  collector_.OnIopub(Msg("display_data", {{"data", {{"text/plain", "x"}}},
                                          {"metadata", {{"m", std::string(70 << 10, 'x')}}}}));
  EXPECT_TRUE(result().truncated);
  ASSERT_EQ(result().outputs.size(), 1u);
  EXPECT_TRUE(result().outputs[0]["metadata"].empty());
  EXPECT_EQ(result().outputs[0]["data"]["text/plain"], "x");
}

TEST_F(TotalCapTest, AHugeErrorValueIsCutToTheTextCap) {
  collector_.OnIopub(Stream("stdout", std::string(400, 'o')));
  collector_.OnIopub(Msg("error", ErrorContent("Exception", std::string(20'000'000, 'A'))));
  ASSERT_TRUE(result().error);
  EXPECT_TRUE(result().truncated);
  std::size_t text = result().stdout_text.size() + result().error->evalue.size();
  for (const std::string& line : result().error->traceback) text += line.size();
  EXPECT_LE(text, 1000u);
  EXPECT_EQ(result().error->ename, "Exception");
}

TEST_F(OutputCollectorTest, AnErrorWithinTheCapsIsWholeAndNotTruncated) {
  collector_.OnIopub(Msg("error", ErrorContent("ValueError", "bad")));
  EXPECT_FALSE(result().truncated);
  EXPECT_EQ(result().error->evalue, "bad");
  EXPECT_EQ(result().error->traceback.size(), 2u);
}

TEST(OutputCollectorEventsTest, TheResultIsTheFoldOfTheEventsTheSinkSaw) {
  std::vector<ExecutionEvent> events;
  OutputCollector collector(OutputLimits{.max_text_bytes = 16},
                            [&](const ExecutionEvent& event) { events.push_back(event); });
  collector.OnIopub(Stream("stdout", "before\n"));
  collector.OnIopub(Display({{"text/plain", "shown"}}));
  collector.OnIopub(ClearOutput(false));
  collector.OnIopub(ClearOutput(false));  // nothing left to clear: no second event
  collector.OnIopub(Stream("stderr", "warn\n"));
  collector.OnIopub(Stream("stdout", "0123456789abcdef"));  // cut at the text cap
  collector.OnIopub(ExecuteResult({{"text/plain", "7"}}, 3));
  collector.OnIopub(Msg("error", ErrorContent("E", "v")));
  collector.OnReply(Reply({{"status", "error"}, {"execution_count", 3}}));

  std::vector<std::string> names;
  for (const ExecutionEvent& event : events) names.emplace_back(EventName(event.kind));
  EXPECT_EQ(names, (std::vector<std::string>{"stdout", "display", "clear", "stderr", "stdout",
                                             "result", "error"}));
  EXPECT_EQ(EventData(events[4])["text"], "0123456789a") << "16 bytes, 5 of them for warn";
  EXPECT_EQ(EventData(events[5])["execution_count"], 3);

  ExecutionResult folded;
  for (const ExecutionEvent& event : events) Fold(folded, event);
  const ExecutionResult& result = collector.result();
  EXPECT_EQ(folded.stdout_text, result.stdout_text);
  EXPECT_EQ(folded.stderr_text, "warn\n");
  EXPECT_EQ(folded.outputs, result.outputs);
  EXPECT_EQ(folded.result_text, "");  // the text cap was spent before the result came
  ASSERT_TRUE(folded.error.has_value());
  EXPECT_EQ(folded.error->ename, result.error->ename);
  EXPECT_TRUE(result.truncated);
}

}  // namespace
}  // namespace jupyter
