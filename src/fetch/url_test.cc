#include "fetch/url.h"

#include <gtest/gtest.h>

namespace fetch {
namespace {

Url Parse(const std::string& text) {
  auto url = ParseUrl(text);
  EXPECT_TRUE(url) << text << ": " << (url ? "" : url.error().message);
  return url.value_or(Url{});
}

std::string ErrorOf(const std::string& text) {
  auto url = ParseUrl(text);
  EXPECT_FALSE(url) << text << " should be refused";
  return url ? "" : url.error().message;
}

TEST(ParseUrl, SplitsSchemeHostPortTarget) {
  const auto url = Parse("HTTPS://Files.Example.COM./a/b.csv?X-Amz-Signature=secret#frag");
  EXPECT_TRUE(url.https);
  EXPECT_EQ(url.host, "files.example.com");
  EXPECT_FALSE(url.literal);
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.target, "/a/b.csv?X-Amz-Signature=secret");
  EXPECT_EQ(url.HostHeader(), "files.example.com");
  EXPECT_EQ(url.Redacted(), "https://files.example.com/a/b.csv?...");

  const auto plain = Parse("http://example.com");
  EXPECT_FALSE(plain.https);
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(plain.target, "/");
  EXPECT_EQ(Parse("http://example.com?q=1").target, "/?q=1");
  EXPECT_EQ(Parse("http://example.com:8080/x").HostHeader(), "example.com:8080");
  EXPECT_EQ(Parse("https://example.com:443/x").HostHeader(), "example.com");
}

TEST(ParseUrl, IpLiterals) {
  const auto v4 = Parse("http://127.0.0.1:3874/file");
  ASSERT_TRUE(v4.literal);
  EXPECT_EQ(*v4.literal, IpAddress::V4(127, 0, 0, 1));
  EXPECT_EQ(v4.port, 3874);

  const auto v6 = Parse("http://[::FFFF:7f00:1]:81/");
  ASSERT_TRUE(v6.literal);
  EXPECT_TRUE(v6.literal->v6);
  EXPECT_EQ(v6.host, "::ffff:127.0.0.1");
  EXPECT_EQ(v6.HostHeader(), "[::ffff:127.0.0.1]:81");
  EXPECT_EQ(Parse("https://[2001:db8::1]/").HostHeader(), "[2001:db8::1]");
}

TEST(ParseUrl, RefusesWhatItMust) {
  EXPECT_NE(ErrorOf("ftp://example.com/x").find("only http:// and https://"), std::string::npos);
  EXPECT_NE(ErrorOf("file:///etc/passwd").find("only http"), std::string::npos);
  EXPECT_NE(ErrorOf("gopher://127.0.0.1:6379/_x").find("only http"), std::string::npos);
  EXPECT_NE(ErrorOf("example.com/x").find("only http"), std::string::npos);
  EXPECT_NE(ErrorOf("http:example.com").find("http://"), std::string::npos);
  EXPECT_NE(ErrorOf("http://user:pw@example.com/").find("credentials"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com@127.0.0.1/").find("credentials"), std::string::npos);
  EXPECT_NE(ErrorOf("http://@example.com/").find("credentials"), std::string::npos);
  for (const char* port : {"0", "65536", "99999999999", "-1", "+80", "8o", "", " 80"}) {
    const auto error = ErrorOf(std::string("http://example.com:") + port + "/");
    EXPECT_TRUE(error.find("port") != std::string::npos || error.find("space") != std::string::npos)
        << port << ": " << error;
  }
  EXPECT_EQ(Parse("http://example.com:65535/").port, 65535);
  EXPECT_EQ(Parse("http://example.com:1/").port, 1);
  EXPECT_NE(ErrorOf("http://[fe80::1%25eth0]/").find("zone"), std::string::npos);
  EXPECT_NE(ErrorOf("http://[::1/").find("]"), std::string::npos);
  EXPECT_NE(ErrorOf("http://[127.0.0.1]/").find("IPv6"), std::string::npos);
  EXPECT_NE(ErrorOf("http://[::1]x/").find("after"), std::string::npos);
  EXPECT_NE(ErrorOf("http:///x").find("no host"), std::string::npos);
  EXPECT_NE(ErrorOf("http://:80/x").find("no host"), std::string::npos);
  // IPv4 in disguise: the resolver's inet_aton would make these 127.0.0.1.
  for (const char* host : {"2130706433", "127.1", "0x7f.0.0.1", "0177.0.0.1", "0x7f000001"})
    EXPECT_NE(ErrorOf(std::string("http://") + host + "/").find("host"), std::string::npos) << host;
  EXPECT_NE(ErrorOf("http://ex%61mple.com/").find("host"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com/a b").find("space"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com/a\r\nX-Injected: 1").find("control"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com/\x7f").find("control"), std::string::npos);
  EXPECT_NE(ErrorOf("http://ex\xc3\xa4mple.com/").find("non-ASCII"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com\\@127.0.0.1/").find("credentials"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com/a\\b").find("backslash"), std::string::npos);
  EXPECT_NE(ErrorOf("http://example.com/" + std::string(kMaxUrlBytes, 'a')).find("longer"),
            std::string::npos);
}

TEST(ParseUrl, ErrorsNeverEchoTheQuery) {
  const auto error = ErrorOf("http://user@example.com/x?X-Amz-Signature=topsecret");
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  EXPECT_EQ(Parse("http://example.com/x?sig=topsecret").Redacted(), "http://example.com/x?...");
}

}  // namespace
}  // namespace fetch
