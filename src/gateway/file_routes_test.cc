// The file routes through HandleRequest (no sockets): a fake Sessions grants a plain
// HostWorkspace in a temporary directory. Streaming over real HTTP is tested in
// tests/integration (files_test.cc).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "gateway/router.h"

namespace gateway {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kToken = "test-token-0123456789abcdef";

std::optional<std::string> Header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr), 1);
  return common::HexEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

// The bytes a download would send.
std::string Sent(const HttpResponse& response) {
  EXPECT_TRUE(response.file) << response.status << " " << response.body;
  if (!response.file) return {};
  std::string out(response.file->length, '\0');
  EXPECT_EQ(pread(response.file->fd.Get(), out.data(), out.size(),
                  static_cast<off_t>(response.file->offset)),
            static_cast<ssize_t>(out.size()));
  return out;
}

class FileRoutesTest : public ::testing::Test {
 protected:
  class FakeSessions : public pool::Sessions {
   public:
    void Execute(pool::ExecuteCommand, std::function<void(pool::ExecuteOutcome)>) override {}
    bool Release(const std::string&) override { return false; }
    pool::PoolStatus Status() const override { return {}; }
    void OpenWorkspace(const std::string& user, const pool::SessionOptions& session,
                       std::function<void(pool::WorkspaceGrant)> done) override {
      opened.push_back(user);
      options.push_back(session);
      pool::WorkspaceGrant grant;
      if (refusal != pool::WorkspaceRefusal::kNone) {
        grant.refusal = refusal;
        grant.detail = "refused for the test";
      } else {
        grant.workspace = workspace;
      }
      done(std::move(grant));
    }
    void WorkspaceChanged(const std::string& user) override { changed.push_back(user); }

    std::shared_ptr<sandbox::HostWorkspace> workspace;
    pool::WorkspaceRefusal refusal = pool::WorkspaceRefusal::kNone;
    std::vector<std::string> opened, changed;
    std::vector<pool::SessionOptions> options;
  };

  void SetUp() override {
    char tmpl[] = "/tmp/ci-file-routes-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "ws";
    auto created = sandbox::HostWorkspace::Create(root_, false, {}, "");
    ASSERT_TRUE(created.has_value()) << created.error().message;
    sessions_.workspace = *created;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  HttpResponse Send(const std::string& method, const std::string& target, std::string body = {},
                    std::optional<std::string> range = std::nullopt,
                    std::string content_type = {}) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = kToken;
    request.body = std::move(body);
    request.id = ++next_id_;
    request.range = std::move(range);
    request.content_type = std::move(content_type);
    int responses = 0;
    HttpResponse response;
    HandleRequest(request, config_, sessions_, [&](HttpResponse r) {
      ++responses;
      response = std::move(r);
    });
    EXPECT_EQ(responses, 1) << method << " " << target;
    return response;
  }

  static json Body(const HttpResponse& response) {
    json body = json::parse(response.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << response.body;
    return body;
  }

  RouterConfig config_{.token = kToken, .max_file_bytes = 1u << 20};
  FakeSessions sessions_;
  fs::path base_, root_;
  std::uint64_t next_id_ = 0;
};

TEST_F(FileRoutesTest, UploadThenDownloadRoundTripsAnyBytes) {
  std::string bytes = "a\0b\xff\n";
  bytes.resize(5);
  bytes += std::string(100000, 'x');
  const HttpResponse put = Send("PUT", "/files?user_uuid=u1&path=/sandbox/data/in.bin", bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  const json body = Body(put);
  EXPECT_EQ(body["path"], "/sandbox/data/in.bin");
  EXPECT_EQ(body["size"], bytes.size());
  EXPECT_EQ(body["sha256"], Sha256Hex(bytes));
  EXPECT_EQ(sessions_.changed, std::vector<std::string>{"u1"});

  const HttpResponse get = Send("GET", "/files?user_uuid=u1&path=data/in.bin");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(Sent(get), bytes);
  EXPECT_EQ(get.content_type, "application/octet-stream");
  EXPECT_EQ(Header(get, "Accept-Ranges"), "bytes");
  EXPECT_EQ(Header(get, "Content-Disposition"),
            "attachment; filename=\"in.bin\"; filename*=UTF-8''in.bin");
}

TEST_F(FileRoutesTest, EmptyFileAndContentTypes) {
  ASSERT_EQ(Send("PUT", "/files?user_uuid=u&path=empty.csv").status, 201);
  const HttpResponse get = Send("GET", "/files?user_uuid=u&path=empty.csv");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(Sent(get), "");
  EXPECT_EQ(get.content_type, "text/csv; charset=utf-8");
}

TEST_F(FileRoutesTest, RangesAre206And416) {
  ASSERT_EQ(Send("PUT", "/files?user_uuid=u&path=r.txt", "0123456789").status, 201);
  const HttpResponse part = Send("GET", "/files?user_uuid=u&path=r.txt", {}, "bytes=2-4");
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(Sent(part), "234");
  EXPECT_EQ(Header(part, "Content-Range"), "bytes 2-4/10");
  const HttpResponse tail = Send("GET", "/files?user_uuid=u&path=r.txt", {}, "bytes=-3");
  EXPECT_EQ(Sent(tail), "789");
  const HttpResponse beyond = Send("GET", "/files?user_uuid=u&path=r.txt", {}, "bytes=10-");
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(Header(beyond, "Content-Range"), "bytes */10");
}

TEST_F(FileRoutesTest, ListShowsEntriesAndSaysWhenCut) {
  ASSERT_EQ(Send("PUT", "/files?user_uuid=u&path=a.txt", "aa").status, 201);
  ASSERT_EQ(Send("PUT", "/files?user_uuid=u&path=d/b.txt", "b").status, 201);
  fs::create_symlink("/etc/passwd", root_ / "link");
  HttpResponse list = Send("GET", "/files/list?user_uuid=u");
  ASSERT_EQ(list.status, 200) << list.body;
  json body = Body(list);
  EXPECT_EQ(body["path"], "/sandbox");
  ASSERT_EQ(body["entries"].size(), 3u);
  EXPECT_EQ(body["entries"][0]["name"], "a.txt");
  EXPECT_EQ(body["entries"][0]["path"], "/sandbox/a.txt");
  EXPECT_EQ(body["entries"][0]["type"], "file");
  EXPECT_EQ(body["entries"][0]["size"], 2);
  EXPECT_TRUE(body["entries"][0]["mtime"].is_number());
  EXPECT_EQ(body["entries"][1]["type"], "dir");
  EXPECT_EQ(body["entries"][2]["type"], "other");  // the link, never followed
  EXPECT_FALSE(body["truncated"]);
  config_.max_list_entries = 1;
  body = Body(Send("GET", "/files/list?user_uuid=u&path=/sandbox"));
  EXPECT_EQ(body["entries"].size(), 1u);
  EXPECT_EQ(body["total"], 3);
  EXPECT_TRUE(body["truncated"]);
  EXPECT_EQ(Body(Send("GET", "/files/list?user_uuid=u&path=d"))["entries"][0]["path"],
            "/sandbox/d/b.txt");
}

TEST_F(FileRoutesTest, DeleteFilesAndDirectories) {
  ASSERT_EQ(Send("PUT", "/files?user_uuid=u&path=d/e/f.txt", "x").status, 201);
  EXPECT_EQ(Send("DELETE", "/files?user_uuid=u&path=d").status, 409);
  EXPECT_EQ(Send("DELETE", "/files?user_uuid=u&path=d&recursive=maybe").status, 400);
  const HttpResponse gone = Send("DELETE", "/files?user_uuid=u&path=d&recursive=true");
  EXPECT_EQ(gone.status, 204);
  EXPECT_TRUE(gone.body.empty());
  EXPECT_FALSE(fs::exists(root_ / "d"));
  EXPECT_EQ(Send("DELETE", "/files?user_uuid=u&path=d").status, 404);
}

TEST_F(FileRoutesTest, BadRequestsGetClearErrors) {
  const struct {
    const char* method;
    const char* target;
    int status;
  } cases[] = {
      {"GET", "/files?path=a", 400},                          // no user
      {"GET", "/files?user_uuid=u", 400},                     // no path
      {"GET", "/files?user_uuid=u&path=../etc/passwd", 400},  // ..
      {"GET", "/files?user_uuid=u&path=/etc/passwd", 400},    // outside /sandbox
      {"GET", "/files?user_uuid=u&path=a%00b", 400},          // NUL
      {"GET", "/files?user_uuid=u&path=a&path=b", 400},       // twice
      {"PUT", "/files?user_uuid=u&path=/sandbox", 400},       // the root itself
      {"GET", "/files?user_uuid=u&path=missing.txt", 404},
      {"GET", "/files/list?user_uuid=u&path=missing", 404},
  };
  for (const auto& c : cases) {
    const HttpResponse response = Send(c.method, c.target);
    EXPECT_EQ(response.status, c.status) << c.method << " " << c.target << ": " << response.body;
    EXPECT_TRUE(Body(response).contains("detail")) << c.target;
  }
  ASSERT_EQ(Send("PUT", "/files?user_uuid=u&path=dir/f", "x").status, 201);
  EXPECT_EQ(Send("GET", "/files?user_uuid=u&path=dir").status, 409);
  EXPECT_EQ(Send("PUT", "/files?user_uuid=u&path=dir", "x").status, 409);
  EXPECT_EQ(Send("GET", "/files/list?user_uuid=u&path=dir/f").status, 409);
  fs::create_symlink("/etc", root_ / "etc");
  EXPECT_EQ(Send("GET", "/files?user_uuid=u&path=etc/passwd").status, 409);
}

TEST_F(FileRoutesTest, TooLargeLeavesNothing) {
  config_.max_file_bytes = 10;
  const HttpResponse put = Send("PUT", "/files?user_uuid=u&path=big.bin", std::string(11, 'x'));
  EXPECT_EQ(put.status, 413) << put.body;
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(FileRoutesTest, AMultipartFormWritesEachFilePart) {
  const std::string type = "multipart/form-data; boundary=----b0undary";
  const std::string body =
      "------b0undary\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nignored\r\n"
      "------b0undary\r\nContent-Disposition: form-data; name=\"file\"; "
      "filename=\"C:\\Users\\me\\data.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n"
      "------b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\n"
      "\x02\x01\r\n------b0undary--\r\n";
  const HttpResponse r =
      Send("POST", "/files/upload?user_uuid=u&path=in", body, std::nullopt, type);
  ASSERT_EQ(r.status, 201) << r.body;
  const json files = Body(r)["files"];
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0]["path"], "/sandbox/in/data.csv");
  EXPECT_EQ(files[0]["size"], 8);
  EXPECT_EQ(files[1]["path"], "/sandbox/in/x.bin");
  EXPECT_EQ(Sent(Send("GET", "/files?user_uuid=u&path=in/data.csv")), "a,b\r\n1,2");
  EXPECT_EQ(sessions_.changed.size(), 1u);
  // Not multipart, no usable name, a broken body: 400, and nothing of a broken part is left.
  EXPECT_EQ(Send("POST", "/files/upload?user_uuid=u", body, std::nullopt, "text/plain").status,
            400);
  const std::string dotdot =
      "--b\r\nContent-Disposition: form-data; name=f; filename=\"..\"\r\n\r\nx\r\n--b--";
  EXPECT_EQ(Send("POST", "/files/upload?user_uuid=u", dotdot, std::nullopt,
                 "multipart/form-data; boundary=b")
                .status,
            400);
  const std::string cut = "--b\r\nContent-Disposition: form-data; name=f; filename=cut\r\n\r\nxx";
  EXPECT_EQ(Send("POST", "/files/upload?user_uuid=u", cut, std::nullopt,
                 "multipart/form-data; boundary=b")
                .status,
            400);
  EXPECT_FALSE(fs::exists(root_ / "cut"));
}

TEST_F(FileRoutesTest, RefusalsAndTheToken) {
  sessions_.refusal = pool::WorkspaceRefusal::kUnavailable;
  EXPECT_EQ(Send("GET", "/files/list?user_uuid=u").status, 501);
  EXPECT_EQ(Send("PUT", "/files?user_uuid=u&path=a", "x").status, 501);
  sessions_.refusal = pool::WorkspaceRefusal::kFailed;
  EXPECT_EQ(Send("GET", "/files?user_uuid=u&path=a").status, 503);
  sessions_.refusal = pool::WorkspaceRefusal::kInvalid;
  EXPECT_EQ(Send("GET", "/files/list?user_uuid=u&environment=nope").status, 400);
  sessions_.refusal = pool::WorkspaceRefusal::kConflict;
  EXPECT_EQ(Send("GET", "/files/list?user_uuid=u&environment=other").status, 409);
  HttpRequest anonymous;
  anonymous.method = "GET";
  anonymous.target = "/files?user_uuid=u&path=a";
  anonymous.id = 99;
  HttpResponse response;
  HandleRequest(anonymous, config_, sessions_, [&](HttpResponse r) { response = std::move(r); });
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(sessions_.opened.size(), 5u);  // the anonymous request reached nothing
}

TEST_F(FileRoutesTest, TheQueryNamesTheSessionsEnvironmentAndLimits) {
  ASSERT_EQ(Send("PUT",
                 "/files?user_uuid=u&path=a.txt&environment=minimal&limits.memory_mb=1024"
                 "&limits.cpus=0.5&limits.timeout=2.5",
                 "x")
                .status,
            201);
  ASSERT_EQ(sessions_.options.size(), 1u);
  const pool::SessionOptions& options = sessions_.options[0];
  EXPECT_EQ(options.environment, "minimal");
  EXPECT_EQ(options.limits.memory_mb, 1024u);
  EXPECT_EQ(options.limits.cpus, 0.5);
  EXPECT_EQ(options.limits.timeout, std::chrono::milliseconds(2500));
  EXPECT_FALSE(options.limits.pids.has_value());
  ASSERT_EQ(Send("GET", "/files/list?user_uuid=u").status, 200);
  EXPECT_TRUE(sessions_.options[1].environment.empty() && sessions_.options[1].limits.Empty())
      << "a call naming nothing asks for nothing";

  // Bad options are refused before any session is reached.
  for (const char* target :
       {"/files/list?user_uuid=u&limits.memory_mb=lots", "/files/list?user_uuid=u&limits.cpu=1",
        "/files/list?user_uuid=u&limits.pids=-3", "/files/list?user_uuid=u&environment="}) {
    const HttpResponse r = Send("GET", target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_TRUE(Body(r).contains("detail")) << r.body;
  }
  EXPECT_NE(Send("GET", "/files/list?user_uuid=u&limits.cpu=1").body.find("known: memory_mb"),
            std::string::npos);
  EXPECT_EQ(sessions_.options.size(), 2u);
}

}  // namespace
}  // namespace gateway
