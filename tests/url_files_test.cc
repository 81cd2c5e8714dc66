// The original project's later file API end to end: the real binary imports from and exports
// to servers on loopback that the test runs (plain HTTP, and TLS with a CA made at test time,
// trusted through --url-ca-file), with loopback allowed through --url-allow as an operator
// would allow an internal store. Request forgery is refused without that allowance: a private
// address, a name that resolves to one, a redirect to one; sizes and times are cut off.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "common/crypto.h"
#include "fetch/test_server.h"
#include "support/server_process.h"

namespace {

using fetch::testing::Conn;
using fetch::testing::Credential;
using fetch::testing::Response;
using fetch::testing::TestCa;
using fetch::testing::TestServer;
using nlohmann::json;
using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ServerProcess;

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return common::HexEncode(std::string_view(reinterpret_cast<char*>(digest), size));
}

std::string RandomBytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// A server that answers every request with `response` (or stalls), recording the requests.
struct Store {
  explicit Store(std::string response, std::optional<Credential> tls = std::nullopt,
                 bool stall = false)
      : server(
            [this, response = std::move(response), stall](Conn& conn) {
              auto request = conn.ReadRequest();
              if (!request) return;
              {
                std::lock_guard lock(mu);
                received.push_back(*request);
              }
              if (stall) return server.WaitForStop();
              conn.Write(response);
            },
            std::move(tls)) {}
  std::string Url(const std::string& path, const std::string& scheme = "http",
                  const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(server.port()) + path;
  }
  std::vector<fetch::testing::ReceivedRequest> Received() {
    std::lock_guard lock(mu);
    return received;
  }
  std::mutex mu;
  std::vector<fetch::testing::ReceivedRequest> received;
  TestServer server;
};

HttpReply Call(const HttpClient& c, const std::string& method, const std::string& target,
               const std::string& body) {
  return c.Request(method, target, body, {{"X-Auth-Token", c.token()}});
}

json Files(json entries) { return {{"files", std::move(entries)}}; }

class UrlFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new TestCa("ci-url-files-test");
    server_ = new ServerProcess({"--min-idle", "1", "--url-allow", "127.0.0.1", "--url-ca-file",
                                 ca_->ca_file(), "--max-file-mb", "4", "--url-timeout", "3"});
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete ca_;
  }
  static HttpReply Post(const std::string& target, const json& body) {
    return Call(server_->Client(), target.find("DELETE ") == 0 ? "DELETE" : "POST",
                target.find("DELETE ") == 0 ? target.substr(7) : target, body.dump());
  }
  static HttpReply GetFile(const std::string& user, const std::string& path) {
    const HttpClient c = server_->Client();
    return c.Request("GET", "/files?user_uuid=" + user + "&path=" + path, "",
                     {{"X-Auth-Token", c.token()}});
  }

  static TestCa* ca_;
  static ServerProcess* server_;
};

TestCa* UrlFilesTest::ca_ = nullptr;
ServerProcess* UrlFilesTest::server_ = nullptr;

TEST_F(UrlFilesTest, ImportOverHttpAndHttpsAsTheOriginalsClientsCallIt) {
  const std::string csv = "a,b\n1,2\n", png = RandomBytes(300'000, 1);
  Store plain(Response(200, csv));
  Store tls(Response(200, png), ca_->Issue({"localhost"}, {"127.0.0.1"}));
  HttpReply r = Post("/api/v1/files?user_uuid=imp",
                     Files({{{"download_url", plain.Url("/data.csv?X-Amz-Signature=secret")},
                             {"path", "/sandbox/"},
                             {"name", "data.csv"}},
                            {{"download_url", tls.Url("/image.png", "https")},
                             {"path", "/sandbox/img"},
                             {"name", "image.png"}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json(), json({{"success", true},
                            {"results",
                             {{{"full_path", "/sandbox/data.csv"}, {"size", csv.size()}},
                              {{"full_path", "/sandbox/img/image.png"}, {"size", png.size()}}}}}));
  EXPECT_EQ(GetFile("imp", "data.csv").body, csv);
  EXPECT_EQ(Sha256(GetFile("imp", "img/image.png").body), Sha256(png));
  // The kernel sees them in its working directory (/sandbox, where the original puts them).
  HttpReply run = server_->Client().Execute("imp", "print(open('data.csv').read())");
  EXPECT_EQ(run.Json()["stdout"], csv + "\n");
  EXPECT_EQ(server_->Log().find("secret"), std::string::npos) << "the presigned query was logged";
}

TEST_F(UrlFilesTest, ExportByPutAndByPresignedPost) {
  const std::string data = RandomBytes(200'000, 2);
  const HttpClient c = server_->Client();
  ASSERT_EQ(c.Request("PUT", "/files?user_uuid=exp&path=out/result.xlsx", data,
                      {{"X-Auth-Token", c.token()}})
                .status,
            201);
  Store put(Response(200, ""));
  Store form(Response(204, ""), ca_->Issue({}, {"127.0.0.1"}));
  HttpReply r =
      Post("/api/v1/files/export?user_uuid=exp",
           Files({{{"path", "/sandbox/out"},
                   {"name", "result.xlsx"},
                   {"upload_url", put.Url("/bucket/result.xlsx?sig=1")}},
                  {{"path", "/sandbox/out/"},
                   {"name", "result.xlsx"},
                   {"upload_url", form.Url("/bucket", "https")},
                   {"upload_fields", {{"key", "uploads/result.xlsx"}, {"policy", "p"}}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["success"], true);
  EXPECT_EQ(r.Json()["results"][0],
            json({{"path", "/sandbox/out"}, {"name", "result.xlsx"}, {"size", data.size()}}));
  const auto puts = put.Received();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].method, "PUT");
  EXPECT_EQ(puts[0].target, "/bucket/result.xlsx?sig=1");
  EXPECT_EQ(Sha256(puts[0].body), Sha256(data));
  const auto posts = form.Received();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].method, "POST");
  EXPECT_NE(posts[0].body.find("name=\"key\"\r\n\r\nuploads/result.xlsx\r\n"), std::string::npos);
  EXPECT_NE(posts[0].body.find(data), std::string::npos);
}

TEST_F(UrlFilesTest, BatchDeleteAndPartialFailures) {
  Store ok(Response(200, "x"));
  Store missing(Response(404, "no such key"));
  HttpReply r =
      Post("/api/v1/files?user_uuid=del",
           Files({{{"download_url", ok.Url("/a")}, {"path", "/sandbox"}, {"name", "a"}},
                  {{"download_url", missing.Url("/b")}, {"path", "/sandbox"}, {"name", "b"}}}));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.Json()["success"], false);
  EXPECT_EQ(r.Json()["results"], json({{{"full_path", "/sandbox/a"}, {"size", 1}}}));
  EXPECT_EQ(r.Json()["errors"][0]["index"], 1);
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("404"), std::string::npos) << r.body;
  EXPECT_EQ(GetFile("del", "b").status, 404) << "a failed import leaves nothing";
  HttpReply d =
      Post("DELETE /api/v1/files?user_uuid=del",
           Files({{{"path", "/sandbox/"}, {"name", "a"}}, {{"path", "/sandbox"}, {"name", "b"}}}));
  EXPECT_EQ(d.status, 204) << d.body;
  EXPECT_EQ(GetFile("del", "a").status, 404);
}

TEST_F(UrlFilesTest, SizeAndTimeAreCutOff) {
  Store big(Response(200, std::string(5 << 20, 'x')));
  HttpReply r =
      Post("/api/v1/files?user_uuid=cut",
           Files({{{"download_url", big.Url("/big")}, {"path", "/sandbox"}, {"name", "big"}}}));
  EXPECT_EQ(r.status, 413) << r.body;
  Store stalled("", std::nullopt, /*stall=*/true);
  const auto start = std::chrono::steady_clock::now();
  r = Post(
      "/api/v1/files?user_uuid=cut",
      Files({{{"download_url", stalled.Url("/slow")}, {"path", "/sandbox"}, {"name", "slow"}}}));
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(GetFile("cut", "big").status, 404);
  EXPECT_EQ(GetFile("cut", "slow").status, 404);
}

TEST(UrlFilesForgeryTest, PrivateDestinationsAreRefusedForReal) {
  // No --url-allow: loopback is as private as it gets.
  ServerProcess strict({"--min-idle", "0"});
  ASSERT_TRUE(strict.ok()) << strict.Log();
  Store target(Response(200, "internal secret"));
  Store redirect(Response(302, "", {"Location: http://127.0.0.1:1/"}));
  const auto import = [&](const std::string& url) {
    return Call(strict.Client(), "POST", "/api/v1/files?user_uuid=f",
                Files({{{"download_url", url}, {"path", "/sandbox"}, {"name", "x"}}}).dump());
  };
  for (const std::string& url :
       {target.Url("/"), target.Url("/", "http", "localhost"),
        target.Url("/", "http", "[::ffff:127.0.0.1]"),
        std::string("http://169.254.169.254/latest/meta-data/"), std::string("http://10.0.0.1/")}) {
    HttpReply r = import(url);
    EXPECT_EQ(r.status, 403) << url << ": " << r.body;
  }
  EXPECT_TRUE(target.Received().empty()) << "a refused destination was connected to";
  // Allowed hosts still get no redirects followed.
  ServerProcess lax({"--min-idle", "0", "--url-allow", "127.0.0.1"});
  ASSERT_TRUE(lax.ok());
  HttpReply r = Call(
      lax.Client(), "POST", "/api/v1/files?user_uuid=f",
      Files({{{"download_url", redirect.Url("/")}, {"path", "/sandbox"}, {"name", "x"}}}).dump());
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("302"), std::string::npos) << r.body;
}

}  // namespace
