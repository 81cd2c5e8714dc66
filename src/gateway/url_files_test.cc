// Request validation of the /api/v1/files routes (FastAPI-shaped 422s), through
// HandleRequest. Transfers against real servers: tests/url_files_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/router.h"

namespace gateway {
namespace {

using nlohmann::json;

constexpr const char* kToken = "test-token-0123456789abcdef";

class UrlFilesTest : public ::testing::Test {
 protected:
  class FakeSessions : public pool::Sessions {
   public:
    void Execute(pool::ExecuteCommand, std::function<void(pool::ExecuteOutcome)>) override {}
    bool Release(const std::string&) override { return false; }
    pool::PoolStatus Status() const override { return {}; }
    void OpenWorkspace(const std::string& user, const pool::SessionOptions&,
                       std::function<void(pool::WorkspaceGrant)> done) override {
      opened.push_back(user);
      done({.workspace = nullptr,
            .refusal = pool::WorkspaceRefusal::kUnavailable,
            .detail = "none here",
            .retry_after_seconds = 0});
    }
    std::vector<std::string> opened;
  };

  HttpResponse Send(const std::string& method, const std::string& target, const json& body) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = kToken;
    request.body = body.is_string() ? body.get<std::string>() : body.dump();
    HttpResponse response;
    int calls = 0;
    HandleRequest(request, config_, sessions_, [&](HttpResponse r) {
      ++calls;
      response = std::move(r);
    });
    EXPECT_EQ(calls, 1);
    return response;
  }

  // The `loc` of every 422 entry.
  static std::vector<json> Locs(const HttpResponse& response) {
    EXPECT_EQ(response.status, 422) << response.body;
    std::vector<json> locs;
    const json body = json::parse(response.body);
    for (const json& e : body["detail"]) {
      EXPECT_TRUE(e.contains("msg") && e.contains("type")) << e;
      locs.push_back(e["loc"]);
    }
    return locs;
  }

  static json Import(json path, json name, json url = "https://example.com/a.csv") {
    return {{"files", {{{"download_url", url}, {"path", path}, {"name", name}}}}};
  }

  RouterConfig config_{.token = kToken};
  FakeSessions sessions_;
};

TEST_F(UrlFilesTest, TheOriginalsRequestsPassValidation) {
  // Valid requests reach the workspace (refused here: 501 from the fake).
  EXPECT_EQ(Send("POST", "/api/v1/files?user_uuid=u", Import("/sandbox/", "data.xlsx")).status,
            501);
  const json exported = {{"files",
                          {{{"path", "/sandbox/"},
                            {"name", "result.xlsx"},
                            {"upload_url", "https://example.com/up?X-Amz-Signature=s"}},
                           {{"path", "/sandbox/out"},
                            {"name", "chart.png"},
                            {"upload_url", "https://example.com/"},
                            {"upload_fields", {{"key", "k"}, {"policy", "p"}}}}}}};
  EXPECT_EQ(Send("POST", "/api/v1/files/export?user_uuid=u", exported).status, 501);
  const json deleted = {{"files", {{{"path", "/sandbox/"}, {"name", "temp.xlsx"}}}}};
  EXPECT_EQ(Send("DELETE", "/api/v1/files?user_uuid=u", deleted).status, 501);
  EXPECT_EQ(sessions_.opened.size(), 1u) << "import and export are off without transfers";
}

TEST_F(UrlFilesTest, ValidationErrorsAre422WithADetailList) {
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", Import("/etc", "x"))),
            std::vector<json>{json({"body", "files", 0, "path"})});
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", Import("/sandbox/../etc", "x"))),
            std::vector<json>{json({"body", "files", 0, "path"})});
  for (const char* name : {"a/b", "a\\b", "..", ".", ""}) {
    EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", Import("/sandbox", name))),
              std::vector<json>{json({"body", "files", 0, "name"})})
        << name;
  }
  for (const char* url : {"ftp://example.com/a", "file:///etc/passwd", "http://u:p@host/",
                          "gopher://x", "not a url"}) {
    EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", Import("/sandbox", "a", url))),
              std::vector<json>{json({"body", "files", 0, "download_url"})})
        << url;
  }
  json many = {{"files", json::array()}};
  for (int i = 0; i < 101; ++i)
    many["files"].push_back(
        {{"download_url", "https://e.com/"}, {"path", "/sandbox"}, {"name", "f"}});
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", many)),
            std::vector<json>{json({"body", "files"})});
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files", Import("/sandbox", "a"))),
            std::vector<json>{json({"query", "user_uuid"})});
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", json("not json"))),
            std::vector<json>{json({"body"})});
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", json::object())),
            std::vector<json>{json({"body", "files"})});
  // Every problem of every file is listed.
  const json two = {
      {"files", {{{"path", 1}}, {{"download_url", "https://e.com/"}, {"name", "x"}}}}};
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files?user_uuid=u", two)),
            (std::vector<json>{
                json({"body", "files", 0, "path"}), json({"body", "files", 0, "name"}),
                json({"body", "files", 0, "download_url"}), json({"body", "files", 1, "path"})}));
  const json bad_fields = {{"files",
                            {{{"path", "/sandbox"},
                              {"name", "a"},
                              {"upload_url", "https://e.com/"},
                              {"upload_fields", {{"key", 1}}}}}}};
  EXPECT_EQ(Locs(Send("POST", "/api/v1/files/export?user_uuid=u", bad_fields)),
            std::vector<json>{json({"body", "files", 0, "upload_fields", "key"})});
  const json deleted = {{"files", {{{"path", "/sandbox/"}, {"name", "temp.xlsx"}}}}};
  EXPECT_EQ(Locs(Send("DELETE", "/api/v1/files?user_uuid=u&limits.memory_mb=lots", deleted)),
            std::vector<json>{json({"query"})});
  EXPECT_TRUE(sessions_.opened.empty()) << "nothing invalid reached the sessions";
  EXPECT_EQ(Send("DELETE", "/api/v1/files?user_uuid=u&environment=minimal&limits.pids=64", deleted)
                .status,
            501)
      << "session options pass validation";
}

TEST_F(UrlFilesTest, RoutesAndMethods) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/api/v1/files?user_uuid=u";
  request.auth_token = kToken;
  HttpResponse response;
  HandleRequest(request, config_, sessions_, [&](HttpResponse r) { response = std::move(r); });
  EXPECT_EQ(response.status, 405);
  request.method = "POST";
  request.auth_token.reset();
  HandleRequest(request, config_, sessions_, [&](HttpResponse r) { response = std::move(r); });
  EXPECT_EQ(response.status, 401);
}

}  // namespace
}  // namespace gateway
