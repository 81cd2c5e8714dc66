#include "cli/json_log.h"

#include <gtest/gtest.h>

namespace cli {
namespace {

using nlohmann::json;

TEST(JsonLogTest, TheConventionalFieldsAreLiftedOutAndTheTextKeptWhole) {
  const json line = JsonLogLine("debug", R"(user "alice": execution 42 in 17 ms: ok (worker w-3))");
  EXPECT_EQ(line["level"], "debug");
  EXPECT_EQ(line["event"], R"(user "alice": execution 42 in 17 ms: ok (worker w-3))");
  EXPECT_EQ(line["user"], "alice");
  EXPECT_EQ(line["worker"], "w-3");
  EXPECT_EQ(line["execution_id"], 42);
  EXPECT_EQ(line["duration_ms"], 17);
  const json api = JsonLogLine("debug", R"(user "a": execution ex-09af on w-1 in 3 ms: ok)");
  EXPECT_EQ(api["execution_id"], "ex-09af") << "the id the API gave the execution";
}

TEST(JsonLogTest, OnlyWhatIsThereIsAdded) {
  const json line = JsonLogLine("info", "worker w-12 ready in 612 ms (namespaces)");
  EXPECT_EQ(line["worker"], "w-12");
  EXPECT_EQ(line["duration_ms"], 612);
  EXPECT_FALSE(line.contains("user"));
  EXPECT_FALSE(line.contains("execution_id"));
  const json other = JsonLogLine("warn", "user \"b\": execution exceeded 5 s, interrupting w-x");
  EXPECT_EQ(other["user"], "b");
  EXPECT_FALSE(other.contains("execution_id")) << "no digits after 'execution '";
  EXPECT_FALSE(other.contains("worker")) << "w-x is no worker name";
  EXPECT_FALSE(JsonLogLine("info", "started in 5 s").contains("duration_ms"));
}

}  // namespace
}  // namespace cli
