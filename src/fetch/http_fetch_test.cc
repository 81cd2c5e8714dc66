// The fetch client against real servers on loopback: plain HTTP, TLS with a CA made at test
// time, and servers that lie, redirect, stall or send too much.
#include "fetch/http_fetch.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <random>

#include "common/crypto.h"
#include "fetch/test_server.h"

namespace fetch {
namespace {

using std::chrono::milliseconds;
using testing::Conn;
using testing::Credential;
using testing::Response;
using testing::TestCa;
using testing::TestServer;
using Clock = std::chrono::steady_clock;

std::string RandomBytes(std::size_t size, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return common::HexEncode(std::string_view(reinterpret_cast<char*>(digest), size));
}

Fetcher MakeFetcher(const std::vector<std::string>& allow, const std::string& ca_file = "") {
  auto allowlist = UrlAllowlist::Parse(allow);
  EXPECT_TRUE(allowlist) << allowlist.error().message;
  auto fetcher = Fetcher::Create(Config{allowlist.value_or(UrlAllowlist()), ca_file});
  EXPECT_TRUE(fetcher) << fetcher.error().message;
  return std::move(*fetcher);
}

Url U(const std::string& text) {
  auto url = ParseUrl(text);
  EXPECT_TRUE(url) << text;
  return url.value_or(Url{});
}

struct Downloaded {
  FetchResult<Transfer> result;
  std::string body;
};

Downloaded Get(const Fetcher& fetcher, const std::string& url, const Limits& limits = {}) {
  Downloaded out;
  out.result = fetcher.Download(U(url), limits, [&out](std::string_view chunk) {
    EXPECT_LE(chunk.size(), 64u * 1024);  // the bounded buffer
    EXPECT_FALSE(chunk.empty());
    out.body.append(chunk);
    return common::Result<void>();
  });
  return out;
}

// A server that answers every request with `response`, recording the last request.
struct Answering {
  explicit Answering(std::string response, std::optional<Credential> tls = std::nullopt)
      : server(
            [this, response = std::move(response)](Conn& conn) {
              auto request = conn.ReadRequest();
              if (!request) return;
              {
                std::lock_guard lock(mu);
                last = *request;
                sni = conn.sni;
              }
              conn.Write(response);
            },
            std::move(tls)) {}
  std::string Base(const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(server.port());
  }
  std::mutex mu;
  testing::ReceivedRequest last;
  std::string sni;
  TestServer server;
};

const std::vector<std::string> kAllowLoopback = {"127.0.0.1/32"};

TEST(Download, PlainHttpBytesArriveIntact) {
  const auto data = RandomBytes((1 << 20) + 17);
  Answering answering(Response(200, data, {"Content-Type: application/x-test"}));
  const auto got = Get(MakeFetcher(kAllowLoopback), answering.Base() + "/data.bin?x=1#frag");
  ASSERT_TRUE(got.result) << got.result.error().message;
  EXPECT_EQ(got.result->status, 200u);
  EXPECT_EQ(got.result->bytes, data.size());
  EXPECT_EQ(got.result->content_type, "application/x-test");
  EXPECT_EQ(Sha256(got.body), Sha256(data));
  std::lock_guard lock(answering.mu);
  EXPECT_EQ(answering.last.method, "GET");
  EXPECT_EQ(answering.last.target, "/data.bin?x=1");
  EXPECT_EQ(answering.last.headers["host"], "127.0.0.1:" + std::to_string(answering.server.port()));
  EXPECT_EQ(answering.last.headers["accept-encoding"], "identity");
}

TEST(Download, ChunkedAndEofDelimitedBodies) {
  Answering chunked(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  const auto a = Get(MakeFetcher(kAllowLoopback), chunked.Base() + "/");
  ASSERT_TRUE(a.result) << a.result.error().message;
  EXPECT_EQ(a.body, "hello world");
  Answering eof("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  const auto b = Get(MakeFetcher(kAllowLoopback), eof.Base() + "/");
  ASSERT_TRUE(b.result) << b.result.error().message;
  EXPECT_EQ(b.body, "until the end");
}

// Request forgery: the policy refuses before any connection is made.
TEST(Policy, LoopbackRefusedUnlessAllowed) {
  Answering answering(Response(200, "secret"));
  const auto refused = Get(MakeFetcher({}), answering.Base() + "/");
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error().kind, ErrorKind::kRefused);
  EXPECT_NE(refused.result.error().message.find("loopback"), std::string::npos)
      << refused.result.error().message;
  EXPECT_EQ(answering.server.accepted(), 0);
  EXPECT_TRUE(refused.body.empty());

  const auto allowed = Get(MakeFetcher(kAllowLoopback), answering.Base() + "/");
  ASSERT_TRUE(allowed.result) << allowed.result.error().message;
  EXPECT_EQ(allowed.body, "secret");
  EXPECT_EQ(answering.server.accepted(), 1);
}

TEST(Policy, NameResolvingToLoopbackRefused) {
  Answering answering(Response(200, "secret"));
  const auto port = std::to_string(answering.server.port());
  // Allowing some other network does not help.
  const auto refused = Get(MakeFetcher({"10.0.0.0/8"}), "http://localhost:" + port + "/");
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error().kind, ErrorKind::kRefused);
  EXPECT_NE(refused.result.error().message.find("localhost resolves to 127.0.0.1"),
            std::string::npos)
      << refused.result.error().message;
  EXPECT_EQ(answering.server.accepted(), 0);
}

TEST(Policy, Ipv6FormsOfLoopbackRefused) {
  Answering answering(Response(200, "secret"));
  const auto port = std::to_string(answering.server.port());
  for (const char* host : {"[::1]", "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "[::127.0.0.1]",
                           "[2002:7f00:1::]", "0.0.0.0", "169.254.169.254"}) {
    const auto refused =
        Get(MakeFetcher({"10.0.0.0/8"}), std::string("http://") + host + ":" + port + "/");
    ASSERT_FALSE(refused.result) << host;
    EXPECT_EQ(refused.result.error().kind, ErrorKind::kRefused) << host;
  }
  EXPECT_EQ(answering.server.accepted(), 0);
}

TEST(Policy, Ipv6LoopbackAllowedByItsEntry) {
  TestServer server(
      [](Conn& conn) {
        if (conn.ReadRequest()) conn.Write(Response(200, "over v6"));
      },
      std::nullopt, "::1");
  const auto url = "http://[::1]:" + std::to_string(server.port()) + "/";
  const auto refused = Get(MakeFetcher(kAllowLoopback), url);
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error().kind, ErrorKind::kRefused);
  const auto got = Get(MakeFetcher({"::1"}), url);
  ASSERT_TRUE(got.result) << got.result.error().message;
  EXPECT_EQ(got.body, "over v6");
  EXPECT_EQ(server.accepted(), 1);
}

TEST(Policy, MappedFormReachesTheAllowedIpv4Host) {
  Answering answering(Response(200, "mapped"));
  const auto got = Get(MakeFetcher(kAllowLoopback),
                       "http://[::ffff:127.0.0.1]:" + std::to_string(answering.server.port()));
  ASSERT_TRUE(got.result) << got.result.error().message;
  EXPECT_EQ(got.body, "mapped");
}

TEST(Policy, HostNameEntryAllowsThatNameOnly) {
  Answering answering(Response(200, "by name"));
  const auto port = std::to_string(answering.server.port());
  const auto fetcher = MakeFetcher({"localhost"});
  const auto by_name = Get(fetcher, "http://LOCALHOST.:" + port + "/");
  ASSERT_TRUE(by_name.result) << by_name.result.error().message;
  EXPECT_EQ(by_name.body, "by name");
  const auto by_address = Get(fetcher, "http://127.0.0.1:" + port + "/");
  ASSERT_FALSE(by_address.result);
  EXPECT_EQ(by_address.result.error().kind, ErrorKind::kRefused);
}

TEST(Policy, RedirectIsNotFollowed) {
  Answering answering(Response(302, "", {"Location: http://169.254.169.254/latest/meta-data/"}));
  const auto got = Get(MakeFetcher(kAllowLoopback), answering.Base() + "/file.csv");
  ASSERT_FALSE(got.result);
  EXPECT_EQ(got.result.error().kind, ErrorKind::kBadStatus);
  EXPECT_EQ(got.result.error().status, 302u);
  EXPECT_NE(got.result.error().message.find("302"), std::string::npos);
  EXPECT_NE(got.result.error().message.find("redirects are not followed"), std::string::npos);
  EXPECT_EQ(answering.server.accepted(), 1);
}

TEST(Download, BadStatusNamesStatusAndBodyStart) {
  Answering answering(Response(404, "<Error><Code>NoSuchKey</Code></Error>"));
  const auto got = Get(MakeFetcher(kAllowLoopback), answering.Base() + "/x?X-Amz-Signature=abc");
  ASSERT_FALSE(got.result);
  EXPECT_EQ(got.result.error().kind, ErrorKind::kBadStatus);
  EXPECT_EQ(got.result.error().status, 404u);
  const auto& message = got.result.error().message;
  EXPECT_NE(message.find("404"), std::string::npos) << message;
  EXPECT_NE(message.find("NoSuchKey"), std::string::npos) << message;
  EXPECT_EQ(message.find("X-Amz-Signature"), std::string::npos) << message;
  EXPECT_TRUE(got.body.empty());
}

TEST(Download, ConnectionRefusedAndUnresolvable) {
  std::uint16_t port;
  {
    Answering closed(Response(200, ""));
    port = closed.server.port();
  }
  const auto refused = Get(MakeFetcher(kAllowLoopback), "http://127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error().kind, ErrorKind::kConnect) << refused.result.error().message;

  Limits limits;
  limits.connect_timeout = milliseconds(3000);
  const auto unknown = Get(MakeFetcher({}), "http://no-such-host.invalid/", limits);
  ASSERT_FALSE(unknown.result);
  EXPECT_TRUE(unknown.result.error().kind == ErrorKind::kResolve ||
              unknown.result.error().kind == ErrorKind::kTimeout)
      << unknown.result.error().message;
}

// Size limits.
TEST(Limits, ContentLengthOverLimitRefusedBeforeReading) {
  Answering answering(Response(200, RandomBytes(5000)));
  Limits limits;
  limits.max_bytes = 1000;
  const auto got = Get(MakeFetcher(kAllowLoopback), answering.Base() + "/", limits);
  ASSERT_FALSE(got.result);
  EXPECT_EQ(got.result.error().kind, ErrorKind::kTooLarge);
  EXPECT_NE(got.result.error().message.find("5000"), std::string::npos);
  EXPECT_TRUE(got.body.empty());
}

TEST(Limits, BodyWithoutLengthCutOffWhileStreaming) {
  Limits limits;
  limits.max_bytes = 100'000;
  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) chunked += "1000\r\n" + std::string(0x1000, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  for (const auto& response :
       {chunked, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + RandomBytes(300'000)}) {
    Answering answering(response);
    const auto got = Get(MakeFetcher(kAllowLoopback), answering.Base() + "/", limits);
    ASSERT_FALSE(got.result);
    EXPECT_EQ(got.result.error().kind, ErrorKind::kTooLarge) << got.result.error().message;
    EXPECT_LE(got.body.size(), limits.max_bytes);
  }
}

TEST(Limits, LyingContentLength) {
  // Says 100, sends 5000: the bytes past the declared length are never read.
  const auto data = RandomBytes(5000);
  Answering shorter(Response(200, data, {"Content-Length: 100"}));
  Limits limits;
  limits.max_bytes = 1000;
  const auto got = Get(MakeFetcher(kAllowLoopback), shorter.Base() + "/", limits);
  ASSERT_TRUE(got.result) << got.result.error().message;
  EXPECT_EQ(got.body, data.substr(0, 100));
  // Says 900, sends 100 and closes: an error, not a short file.
  Answering longer(Response(200, data.substr(0, 100), {"Content-Length: 900"}));
  const auto cut = Get(MakeFetcher(kAllowLoopback), longer.Base() + "/", limits);
  ASSERT_FALSE(cut.result);
  EXPECT_EQ(cut.result.error().kind, ErrorKind::kProtocol) << cut.result.error().message;
  // A head larger than 64 KiB.
  Answering huge_head(Response(200, "x", {"X-Big: " + std::string(70'000, 'a')}));
  const auto head = Get(MakeFetcher(kAllowLoopback), huge_head.Base() + "/", limits);
  ASSERT_FALSE(head.result);
  EXPECT_EQ(head.result.error().kind, ErrorKind::kProtocol) << head.result.error().message;
}

// Time limits: the server stalls until the test ends; the call must return on its own.
TEST(Limits, StalledServerTimesOut) {
  const std::vector<std::string> prefixes = {"",
                                             "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc"};
  for (const auto& prefix : prefixes) {
    std::promise<void> requested;
    TestServer server([&](Conn& conn) {
      conn.ReadRequest();
      conn.Write(prefix);
      requested.set_value();
      server.WaitForStop();
    });
    Limits limits;
    limits.total_timeout = milliseconds(400);
    const auto begin = Clock::now();
    const auto got = Get(MakeFetcher(kAllowLoopback),
                         "http://127.0.0.1:" + std::to_string(server.port()) + "/", limits);
    const auto took = Clock::now() - begin;
    requested.get_future().wait();
    ASSERT_FALSE(got.result);
    EXPECT_EQ(got.result.error().kind, ErrorKind::kTimeout) << got.result.error().message;
    EXPECT_GE(took, milliseconds(390));
    EXPECT_LT(took, milliseconds(400 + 1500));
  }
}

TEST(Limits, StalledTlsHandshakeHitsConnectTimeout) {
  // Accepts TCP and never speaks TLS.
  TestServer server([&](Conn&) { server.WaitForStop(); });
  Limits limits;
  limits.connect_timeout = milliseconds(300);
  const auto begin = Clock::now();
  const auto got = Get(MakeFetcher(kAllowLoopback),
                       "https://127.0.0.1:" + std::to_string(server.port()) + "/", limits);
  const auto took = Clock::now() - begin;
  ASSERT_FALSE(got.result);
  EXPECT_EQ(got.result.error().kind, ErrorKind::kTimeout) << got.result.error().message;
  EXPECT_LT(took, milliseconds(300 + 1500));
  EXPECT_EQ(server.accepted(), 1);
}

// TLS with a CA made for this test.
class Tls : public ::testing::Test {
 protected:
  TestCa ca_{"fetch test CA"};
  Credential leaf_ = ca_.Issue({"localhost"}, {"127.0.0.1"});
};

TEST_F(Tls, VerifiedDownloadByAddressAndByName) {
  const auto data = RandomBytes(200'000, 3);
  Answering answering(Response(200, data), leaf_);
  const auto port = std::to_string(answering.server.port());
  const auto by_ip =
      Get(MakeFetcher(kAllowLoopback, ca_.ca_file()), "https://127.0.0.1:" + port + "/f");
  ASSERT_TRUE(by_ip.result) << by_ip.result.error().message;
  EXPECT_EQ(Sha256(by_ip.body), Sha256(data));
  {
    std::lock_guard lock(answering.mu);
    EXPECT_EQ(answering.sni, "");  // no SNI for an address
  }
  const auto by_name =
      Get(MakeFetcher({"localhost"}, ca_.ca_file()), "https://localhost:" + port + "/f");
  ASSERT_TRUE(by_name.result) << by_name.result.error().message;
  EXPECT_EQ(Sha256(by_name.body), Sha256(data));
  std::lock_guard lock(answering.mu);
  EXPECT_EQ(answering.sni, "localhost");
}

TEST_F(Tls, UntrustedCertificateRefused) {
  const TestCa other("someone else's CA");
  Answering answering(Response(200, "secret"), other.Issue({"localhost"}, {"127.0.0.1"}));
  const auto url = "https://127.0.0.1:" + std::to_string(answering.server.port()) + "/";
  for (const auto* ca_file : {&ca_.ca_file(), static_cast<const std::string*>(nullptr)}) {
    // Our CA, then the system's CAs: neither signed this certificate.
    const auto got = Get(MakeFetcher(kAllowLoopback, ca_file ? *ca_file : ""), url);
    ASSERT_FALSE(got.result);
    EXPECT_EQ(got.result.error().kind, ErrorKind::kTls);
    EXPECT_NE(got.result.error().message.find("certificate"), std::string::npos)
        << got.result.error().message;
    EXPECT_TRUE(got.body.empty());
  }
}

TEST_F(Tls, NameMismatchRefused) {
  Answering answering(Response(200, "secret"), ca_.Issue({"files.example"}, {"127.0.0.2"}));
  const auto port = std::to_string(answering.server.port());
  for (const auto& url : {"https://127.0.0.1:" + port + "/", "https://localhost:" + port + "/"}) {
    const auto got = Get(MakeFetcher({"127.0.0.1/32", "localhost"}, ca_.ca_file()), url);
    ASSERT_FALSE(got.result) << url;
    EXPECT_EQ(got.result.error().kind, ErrorKind::kTls) << got.result.error().message;
  }
}

TEST_F(Tls, TruncationWithoutCloseNotifyIsAnError) {
  for (const bool notify : {true, false}) {
    TestServer server(
        [&](Conn& conn) {
          conn.ReadRequest();
          conn.Write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
          if (!notify) conn.CloseAbruptly();
        },
        leaf_);
    const auto got = Get(MakeFetcher(kAllowLoopback, ca_.ca_file()),
                         "https://127.0.0.1:" + std::to_string(server.port()) + "/");
    if (notify) {
      ASSERT_TRUE(got.result) << got.result.error().message;
      EXPECT_EQ(got.body, "until the end");
    } else {
      ASSERT_FALSE(got.result);
      EXPECT_EQ(got.result.error().kind, ErrorKind::kProtocol) << got.result.error().message;
    }
  }
}

// Callbacks.
Source FromString(const std::string& data, std::size_t max_chunk = 10'000) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, offset, max_chunk](std::span<char> buffer) -> common::Result<std::size_t> {
    const auto n = std::min({buffer.size(), data.size() - *offset, max_chunk});
    std::copy_n(data.data() + *offset, n, buffer.data());
    *offset += n;
    return n;
  };
}

TEST(Download, SinkFailureAborts) {
  Answering answering(Response(200, RandomBytes(200'000)));
  const auto result = MakeFetcher(kAllowLoopback)
                          .Download(U(answering.Base() + "/"), Limits{}, [](std::string_view) {
                            return common::Result<void>(common::Fail("workspace full"));
                          });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kCallback);
  EXPECT_NE(result.error().message.find("workspace full"), std::string::npos);
}

TEST(Upload, PutArrivesIntact) {
  const auto data = RandomBytes(300'000, 11);
  Answering answering("HTTP/1.1 100 Continue\r\n\r\n" + Response(200, "", {"ETag: \"x\""}));
  const auto result = MakeFetcher(kAllowLoopback)
                          .UploadPut(U(answering.Base() + "/bucket/key?sig=1"), Limits{},
                                     data.size(), FromString(data));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->bytes, data.size());
  std::lock_guard lock(answering.mu);
  EXPECT_EQ(answering.last.method, "PUT");
  EXPECT_EQ(answering.last.target, "/bucket/key?sig=1");
  EXPECT_EQ(answering.last.headers["content-length"], std::to_string(data.size()));
  EXPECT_EQ(Sha256(answering.last.body), Sha256(data));
}

TEST(Upload, PresignedPostFormArrivesIntact) {
  const auto data = RandomBytes(150'000, 12);
  Answering answering(Response(204, ""));
  const FormFields fields = {
      {"key", "uploads/out.xlsx"}, {"policy", "eyJleHAiOjF9"}, {"x-amz-signature", "abc123"}};
  const auto result = MakeFetcher(kAllowLoopback)
                          .UploadPostForm(U(answering.Base() + "/bucket"), fields, "out.xlsx",
                                          data.size(), FromString(data), Limits{});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 204u);
  std::lock_guard lock(answering.mu);
  const auto& request = answering.last;
  EXPECT_EQ(request.method, "POST");
  const std::string type = request.headers.at("content-type");
  const std::string prefix = "multipart/form-data; boundary=";
  ASSERT_TRUE(type.starts_with(prefix)) << type;
  const std::string boundary = type.substr(prefix.size());
  EXPECT_EQ(request.headers.at("content-length"), std::to_string(request.body.size()));
  // Fields first, in order, then the file, then the closing boundary.
  std::size_t at = 0;
  for (const auto& [name, value] : fields) {
    const auto part = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
                      "\"\r\n\r\n" + value + "\r\n";
    ASSERT_EQ(request.body.compare(at, part.size(), part), 0) << name;
    at += part.size();
  }
  const auto file_head = "--" + boundary +
                         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"out.xlsx\""
                         "\r\nContent-Type: application/octet-stream\r\n\r\n";
  ASSERT_EQ(request.body.compare(at, file_head.size(), file_head), 0);
  at += file_head.size();
  const auto tail = "\r\n--" + boundary + "--\r\n";
  ASSERT_EQ(request.body.size(), at + data.size() + tail.size());
  EXPECT_EQ(Sha256(request.body.substr(at, data.size())), Sha256(data));
  EXPECT_EQ(request.body.substr(at + data.size()), tail);
}

TEST(Upload, RefusedUploadNamesStatus) {
  Answering answering(Response(403, "<Code>AccessDenied</Code>"));
  const auto data = RandomBytes(1000);
  const auto result =
      MakeFetcher(kAllowLoopback)
          .UploadPut(U(answering.Base() + "/k"), Limits{}, data.size(), FromString(data));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kBadStatus);
  EXPECT_EQ(result.error().status, 403u);
  EXPECT_NE(result.error().message.find("AccessDenied"), std::string::npos);
}

TEST(Upload, SourceEndingEarlyAborts) {
  Answering answering(Response(200, ""));
  const std::string data = "short";
  const auto result = MakeFetcher(kAllowLoopback)
                          .UploadPut(U(answering.Base() + "/k"), Limits{}, 1000, FromString(data));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kCallback);
  EXPECT_NE(result.error().message.find("5 of 1000"), std::string::npos) << result.error().message;
}

TEST(Upload, PolicyAppliesToUploads) {
  Answering answering(Response(200, ""));
  const std::string data = "x";
  const auto result =
      MakeFetcher({}).UploadPostForm(U(answering.Base() + "/"), {}, "f", 1, FromString(data), {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kRefused);
  EXPECT_EQ(answering.server.accepted(), 0);
}

}  // namespace
}  // namespace fetch
