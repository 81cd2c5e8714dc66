// The examples in examples/ run against the real binary and succeed (they exit non-zero when
// a step fails): the README's client flow, the workspace example and the SDK's.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

#include "support/server_process.h"

namespace {

using testing_support::ServerProcess;

int RunExample(const ServerProcess& server, const std::string& script) {
  char dir[] = "/tmp/ci-examples-XXXXXX";
  if (mkdtemp(dir) == nullptr) return -1;
  const std::string command =
      "cd " + std::string(dir) +
      " && CODE_INTERPRETER_URL=http://127.0.0.1:" + std::to_string(server.port()) +
      " CODE_INTERPRETER_TOKEN=" + server.token() + " /usr/bin/python3 " + EXAMPLES_DIR + "/" +
      script + " > output.txt 2>&1";
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::system(("cat " + std::string(dir) + "/output.txt >&2").c_str());
  }
  std::filesystem::remove_all(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ExamplesTest, TheClientTheFilesAndTheSdkExampleSucceed) {
  ServerProcess server({"--min-idle", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  EXPECT_EQ(RunExample(server, "client.py"), 0);
  EXPECT_EQ(RunExample(server, "files.py"), 0);
  EXPECT_EQ(RunExample(server, "sdk.py"), 0);
}

}  // namespace
