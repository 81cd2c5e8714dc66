// The MCP endpoint with a real MCP client nobody here wrote: the official TypeScript SDK
// (@modelcontextprotocol/sdk from the npm registry, versions pinned by tests/mcp/package-lock.json)
// driven by tests/mcp/client.mjs against the real binary. The packages are installed with
// `npm ci` into the build tree, again only when the lock file changes.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/proc.h"
#include "support/server_process.h"
#include "support/shell.h"

namespace {

namespace fs = std::filesystem;
using testing_support::ReadText;
using testing_support::ServerProcess;
using testing_support::Shell;

// The client's directory with its packages installed (npm ci, once per lock file).
bool PrepareClient(const fs::path& dir, std::string& log) {
  const fs::path source = MCP_CLIENT_DIR;
  const std::string lock = ReadText(source / "package-lock.json");
  if (lock.empty()) {
    log = "no package-lock.json";
    return false;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const char* file : {"package.json", "client.mjs"})
    fs::copy_file(source / file, dir / file, fs::copy_options::overwrite_existing, ec);
  if (ReadText(dir / "package-lock.json") == lock && fs::exists(dir / "node_modules")) return true;
  fs::remove_all(dir / "node_modules", ec);
  fs::copy_file(source / "package-lock.json", dir / "package-lock.json",
                fs::copy_options::overwrite_existing, ec);
  return Shell("cd '" + dir.string() + "' && npm ci --ignore-scripts --no-audit --no-fund", log) ==
         0;
}

TEST(McpTest, TheOfficialSdkRunsCodeKeepsStateGetsAnImageAndMovesAFile) {
  std::string log;
  ASSERT_EQ(Shell("node --version", log), 0) << "needs node (install-deps installs it): " << log;
  ASSERT_TRUE(PrepareClient(MCP_WORK_DIR, log)) << log;
  ServerProcess server({"--min-idle", "1"});
  ASSERT_TRUE(server.ok()) << server.Log();
  std::string output;
  const int status = Shell("node '" + std::string(MCP_WORK_DIR) + "/client.mjs' http://127.0.0.1:" +
                               std::to_string(server.port()) + "/mcp " + server.token(),
                           output);
  ASSERT_EQ(status, 0) << output << "\n--- server log\n" << server.Log();
  const auto summary = nlohmann::json::parse(output.substr(output.rfind('{')), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << output;
  EXPECT_EQ(summary["ok"], true);
  std::printf("MCP round trip of execute_python 1+1: p50 %.2f ms, max %.2f ms\n",
              summary["round_trip_ms_p50"].get<double>(),
              summary["round_trip_ms_max"].get<double>());
  // The session ended with the client: its kernel was released.
  EXPECT_TRUE(testing_support::WaitFor(
      [&] { return server.Client().Get("/status").Json()["sessions"] == 0; }, 10))
      << server.Client().Get("/status").body;
}

}  // namespace
