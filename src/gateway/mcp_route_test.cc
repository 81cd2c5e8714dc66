// The MCP endpoint over a fake pool: sessions handed out by initialize and required after it,
// the tool list, a tool call's text and image content, errors as JSON-RPC says, and a session's
// end releasing its kernel. (The official SDK drives the real thing: tests/mcp_test.cc.)
#include "gateway/mcp_route.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/mcp_sessions.h"

namespace gateway {
namespace {

using nlohmann::json;

constexpr char kToken[] = "secret";

class FakeSessions : public pool::Sessions {
 public:
  void Execute(pool::ExecuteCommand command,
               std::function<void(pool::ExecuteOutcome)> done) override {
    users.push_back(command.user);
    pool::ExecuteOutcome outcome;
    outcome.result.status = command.code == "1/0" ? "error" : "ok";
    if (command.code == "1/0") {
      outcome.result.error = jupyter::ExecutionError{
          .ename = "ZeroDivisionError", .evalue = "division by zero", .traceback = {"tb"}};
    } else {
      outcome.result.stdout_text = "hi\n";
      outcome.result.outputs = json::array({{{"type", "display_data"},
                                             {"data", {{"image/png", "iVBORw0KGgo="}}},
                                             {"metadata", {}}}});
    }
    done(std::move(outcome));
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
          .detail = "no workspaces here",
          .retry_after_seconds = 0});
  }
  std::vector<std::string> users, released;
};

class McpRouteTest : public ::testing::Test {
 protected:
  HttpResponse Post(const json& message, const std::string& session = "") {
    return Send("POST", message.dump(), session);
  }
  HttpResponse Send(const std::string& method, const std::string& body,
                    const std::string& session) {
    HttpRequest request;
    request.method = method;
    request.target = "/mcp";
    request.auth_token = kToken;
    request.body = body;
    request.mcp_session = session;
    request.id = ++next_id_;
    HttpResponse response;
    int calls = 0;
    HandleRequest(request, config_, sessions_, [&](HttpResponse r) {
      ++calls;
      response = std::move(r);
    });
    EXPECT_EQ(calls, 1);
    return response;
  }
  static json Request(int id, const std::string& method, json params = json::object()) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  }
  static std::string Header(const HttpResponse& response, const std::string& name) {
    for (const auto& [n, v] : response.headers)
      if (n == name) return v;
    return "";
  }
  std::string Initialize() {
    const HttpResponse response =
        Post(Request(1, "initialize", {{"protocolVersion", "2025-06-18"}}));
    EXPECT_EQ(response.status, 200);
    const json body = json::parse(response.body);
    EXPECT_EQ(body["result"]["protocolVersion"], "2025-06-18");
    EXPECT_EQ(body["result"]["serverInfo"]["name"], "code-interpreter");
    EXPECT_TRUE(body["result"]["capabilities"].contains("tools"));
    return Header(response, "Mcp-Session-Id");
  }

  std::uint64_t next_id_ = 0;
  RouterConfig config_{.token = kToken, .mcp = std::make_shared<McpSessions>()};
  FakeSessions sessions_;
};

TEST_F(McpRouteTest, InitializeHandsOutASessionThatEveryLaterRequestNeeds) {
  const std::string session = Initialize();
  ASSERT_EQ(session.size(), 32u);
  EXPECT_EQ(Post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, session).status,
            202);
  EXPECT_EQ(Post(Request(2, "ping"), session).status, 200);
  const HttpResponse missing = Post(Request(3, "tools/list"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json::parse(missing.body)["id"], 3);
  EXPECT_EQ(Post(Request(4, "tools/list"), "nope").status, 404);
  const json asked =
      json::parse(Post(Request(5, "initialize", {{"protocolVersion", "1999-01-01"}})).body);
  EXPECT_EQ(asked["result"]["protocolVersion"], "2025-11-25") << "the newest it speaks";
}

TEST_F(McpRouteTest, ListsItsToolsWithSchemas) {
  const std::string session = Initialize();
  const json tools = json::parse(Post(Request(2, "tools/list"), session).body)["result"]["tools"];
  std::vector<std::string> names;
  for (const json& tool : tools) {
    names.push_back(tool["name"]);
    EXPECT_EQ(tool["inputSchema"]["type"], "object") << tool;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"execute_python", "upload_file", "download_file",
                                             "list_files", "reset_session"}));
}

TEST_F(McpRouteTest, ExecutePythonAnswersTextAndImagesAndAnErrorAsAToolError) {
  const std::string session = Initialize();
  json result = json::parse(
      Post(Request(2, "tools/call",
                   {{"name", "execute_python"}, {"arguments", {{"code", "print('hi')"}}}}),
           session)
          .body)["result"];
  EXPECT_EQ(result["isError"], false);
  EXPECT_EQ(result["content"][0], json({{"type", "text"}, {"text", "hi\n"}}));
  EXPECT_EQ(result["content"][1],
            json({{"type", "image"}, {"data", "iVBORw0KGgo="}, {"mimeType", "image/png"}}));
  EXPECT_EQ(sessions_.users, std::vector<std::string>{"mcp-" + session});

  result = json::parse(
      Post(Request(3, "tools/call", {{"name", "execute_python"}, {"arguments", {{"code", "1/0"}}}}),
           session)
          .body)["result"];
  EXPECT_EQ(result["isError"], true);
  EXPECT_NE(result["content"][0]["text"].get<std::string>().find("ZeroDivisionError"),
            std::string::npos);

  result = json::parse(
      Post(Request(4, "tools/call", {{"name", "execute_python"}, {"arguments", json::object()}}),
           session)
          .body)["result"];
  EXPECT_EQ(result["isError"], true) << "a missing argument is the tool's error";
  const json unknown =
      json::parse(Post(Request(5, "tools/call", {{"name", "rm_rf"}}), session).body);
  EXPECT_EQ(unknown["error"]["code"], -32602);
  EXPECT_EQ(json::parse(Post(Request(6, "resources/list"), session).body)["error"]["code"], -32601);
}

TEST_F(McpRouteTest, BadMessagesAreJsonRpcErrorsAndDeleteEndsTheSession) {
  EXPECT_EQ(json::parse(Send("POST", "{", "").body)["error"]["code"], -32700);
  EXPECT_EQ(json::parse(Send("POST", "[1]", "").body)["error"]["code"], -32600);
  EXPECT_EQ(
      json::parse(Post({{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}).body)["error"]["code"],
      -32600);
  EXPECT_EQ(
      json::parse(Send("POST", R"({"jsonrpc": {"v": "2.0"}, "id": 1})", "").body)["error"]["code"],
      -32600)
      << "a jsonrpc member that is not a string is a bad request, not a crash";
  const std::string session = Initialize();
  EXPECT_EQ(Send("DELETE", "", session).status, 204);
  EXPECT_EQ(sessions_.released, std::vector<std::string>{"mcp-" + session});
  EXPECT_EQ(Post(Request(2, "ping"), session).status, 404);
  EXPECT_EQ(Send("DELETE", "", session).status, 404);
  EXPECT_EQ(Send("GET", "", session).status, 405);
}

TEST(McpSessionsTest, IdleSessionsAreForgottenAndTheirUsersHandedBack) {
  McpSessions sessions({.max_sessions = 2, .idle = std::chrono::seconds(0)});
  const auto id = sessions.Create();
  ASSERT_TRUE(id);
  EXPECT_EQ(sessions.Find(*id), std::nullopt);
  EXPECT_EQ(sessions.TakeExpired(), std::vector<std::string>{"mcp-" + *id});
  McpSessions bounded({.max_sessions = 1, .idle = std::chrono::hours(1)});
  EXPECT_TRUE(bounded.Create());
  EXPECT_FALSE(bounded.Create());
}

}  // namespace
}  // namespace gateway
