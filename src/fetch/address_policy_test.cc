#include "fetch/address_policy.h"

#include <gtest/gtest.h>

namespace fetch {
namespace {

IpAddress Ip(const char* text) {
  auto address = IpAddress::Parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

// Every refused range: its first and last address, plus one typical member.
TEST(RefusalReason, RefusesEveryNonPublicRange) {
  const std::vector<std::pair<const char*, const char*>> refused = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "this network"},
      {"0.255.255.255", "this network"},
      {"10.0.0.0", "private"},
      {"10.255.255.255", "private"},
      {"100.64.0.0", "CGNAT"},
      {"100.127.255.255", "CGNAT"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"169.254.169.254", "metadata"},
      {"169.254.0.1", "link-local"},
      {"172.16.0.0", "private"},
      {"172.31.255.255", "private"},
      {"192.0.0.8", "IETF"},
      {"192.0.2.1", "documentation"},
      {"192.88.99.1", "6to4 relay"},
      {"192.168.0.1", "private"},
      {"192.168.255.255", "private"},
      {"198.18.0.0", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.255", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.254", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::8.8.8.8", "IPv4-compatible"},
      {"::127.0.0.1", "IPv4-compatible"},
      {"fc00::1", "unique-local"},
      {"fdff:ffff::1", "unique-local"},
      {"fe80::1", "link-local"},
      {"febf:ffff::1", "link-local"},
      {"fec0::1", "site-local"},
      {"ff02::1", "multicast"},
      {"ff0e::1", "multicast"},
      {"100::1", "discard"},
      {"64:ff9b:1::1", "local-use NAT64"},
      {"2001:db8::1", "documentation"},
      {"3fff::1", "documentation"},
      {"2001::1", "IETF"},
      {"2001:2::1", "IETF"},
      {"2001:10::1", "IETF"},
      {"4000::1", "not global unicast"},
      {"1234::1", "not global unicast"},
      // IPv4 in IPv6 clothing.
      {"::ffff:127.0.0.1", "IPv4-mapped"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:169.254.169.254", "metadata"},
      {"::ffff:0.0.0.0", "unspecified"},
      {"64:ff9b::127.0.0.1", "NAT64"},
      {"64:ff9b::192.168.1.1", "private"},
      {"64:ff9b::a9fe:a9fe", "metadata"},
      {"2002:7f00:1::", "6to4"},
      {"2002:c0a8:0101::1", "private"},
      {"2002:a9fe:a9fe::", "metadata"},
  };
  for (const auto& [text, why] : refused) {
    const auto reason = RefusalReason(Ip(text));
    ASSERT_TRUE(reason.has_value()) << text << " should be refused";
    EXPECT_NE(reason->find(why), std::string::npos) << text << ": " << *reason;
  }
}

TEST(RefusalReason, AllowsPublicUnicast) {
  for (const char* text :
       {"1.1.1.1",          "8.8.8.8",          "9.255.255.255",        "11.0.0.0",
        "100.63.255.255",   "100.128.0.0",      "126.255.255.255",      "128.0.0.0",
        "169.253.255.255",  "169.255.0.0",      "172.15.255.255",       "172.32.0.0",
        "192.0.1.0",        "192.167.255.255",  "192.169.0.0",          "198.17.255.255",
        "198.20.0.0",       "223.255.255.255",  "2606:4700:4700::1111", "2a00:1450:4001::1",
        "2000::1",          "3ffe::1",          "2001:200::1",          "::ffff:8.8.8.8",
        "64:ff9b::808:808", "2002:0808:0808::1"}) {
    const auto reason = RefusalReason(Ip(text));
    EXPECT_FALSE(reason.has_value()) << text << ": " << reason.value_or("");
  }
}

TEST(IpAddress, ParsesOnlyStrictForms) {
  EXPECT_EQ(Ip("127.0.0.1"), IpAddress::V4(127, 0, 0, 1));
  EXPECT_TRUE(Ip("::ffff:1.2.3.4").v6);
  EXPECT_EQ(Ip("::ffff:1.2.3.4").Unmapped(), IpAddress::V4(1, 2, 3, 4));
  EXPECT_EQ(Ip("::1").ToString(), "::1");
  for (const char* bad : {"", "127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1", "127.0.0.1.",
                          "1.2.3.256", "fe80::1%eth0", "[::1]", ":::", "localhost"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

TEST(IsValidHostName, RefusesIpv4InDisguiseAndOddBytes) {
  for (const char* good : {"example.com", "files.internal.example", "localhost", "a-b.c_d.io",
                           "example.com.", "x1.example", "3com.example"}) {
    EXPECT_TRUE(IsValidHostName(good)) << good;
  }
  for (const char* bad :
       {"", ".", "a..b", "-a.com", "a-.com", "2130706433", "127.1", "0x7f.1", "0x7f000001", "1.2.3",
        "a.b.9", "ex%41mple.com", "ex ample.com", "\xc3\xa9.com", "a/b", "a:b"}) {
    EXPECT_FALSE(IsValidHostName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidHostName(std::string(64, 'a') + ".example"));  // a label over 63
  EXPECT_TRUE(IsValidHostName(std::string(63, 'a') + ".example"));
  EXPECT_FALSE(IsValidHostName(std::string(127, 'a') + "." + std::string(127, 'b')));
}

TEST(Network, ContainsByPrefix) {
  const Network v4{Ip("10.0.0.0"), 8};
  EXPECT_TRUE(v4.Contains(Ip("10.255.0.1")));
  EXPECT_FALSE(v4.Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(v4.Contains(Ip("::ffff:10.0.0.1")));  // families differ; Unmapped() is separate
  const Network odd{Ip("100.64.0.0"), 10};
  EXPECT_TRUE(odd.Contains(Ip("100.127.1.1")));
  EXPECT_FALSE(odd.Contains(Ip("100.128.0.0")));
  EXPECT_TRUE((Network{Ip("0.0.0.0"), 0}.Contains(Ip("8.8.8.8"))));
  EXPECT_TRUE((Network{Ip("::1"), 128}.Contains(Ip("::1"))));
  EXPECT_FALSE((Network{Ip("::1"), 128}.Contains(Ip("::2"))));
}

TEST(UrlAllowlist, ParsesAddressesNetworksAndHosts) {
  auto allowlist = UrlAllowlist::Parse(
      {"127.0.0.1/32", "::1", "10.0.0.0/8", "Files.Internal.Example.", "fd00::/8", "host1"});
  ASSERT_TRUE(allowlist) << allowlist.error().message;
  EXPECT_TRUE(allowlist->AllowsAddress(Ip("127.0.0.1")));
  EXPECT_FALSE(allowlist->AllowsAddress(Ip("127.0.0.2")));
  EXPECT_TRUE(allowlist->AllowsAddress(Ip("::ffff:127.0.0.1")));  // the same host
  EXPECT_TRUE(allowlist->AllowsAddress(Ip("::1")));
  EXPECT_TRUE(allowlist->AllowsAddress(Ip("10.9.8.7")));
  EXPECT_TRUE(allowlist->AllowsAddress(Ip("fd12::1")));
  EXPECT_FALSE(allowlist->AllowsAddress(Ip("fc00::1")));
  EXPECT_TRUE(allowlist->AllowsHost("files.internal.example"));
  EXPECT_TRUE(allowlist->AllowsHost("host1"));
  EXPECT_FALSE(allowlist->AllowsHost("internal.example"));
  EXPECT_FALSE(allowlist->AllowsHost("x.files.internal.example"));
}

TEST(UrlAllowlist, RefusesMalformedEntries) {
  for (const char* bad : {"", "10.0.0.1/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
                          "10.0.0", "*.example.com", "http://x", "fe80::1%eth0", "1.2.3.4/-1"}) {
    auto allowlist = UrlAllowlist::Parse({bad});
    EXPECT_FALSE(allowlist) << bad;
    if (!allowlist) {
      EXPECT_NE(allowlist.error().message.find("--url-allow"), std::string::npos);
    }
  }
  auto hint = UrlAllowlist::Parse({"10.1.2.3/8"});
  ASSERT_FALSE(hint);
  EXPECT_NE(hint.error().message.find("10.0.0.0/8"), std::string::npos) << hint.error().message;
}

TEST(CheckDestination, EveryAddressMustPass) {
  const UrlAllowlist none;
  EXPECT_TRUE(CheckDestination(none, "example.com", {Ip("93.184.216.34")}));
  // One private address among public ones is enough to refuse (DNS rebinding, mixed records).
  auto mixed = CheckDestination(none, "evil.example", {Ip("93.184.216.34"), Ip("10.0.0.1")});
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message.find("evil.example resolves to 10.0.0.1"), std::string::npos)
      << mixed.error().message;
  EXPECT_FALSE(CheckDestination(none, "example.com", {}));
  auto literal = CheckDestination(none, "127.0.0.1", {Ip("127.0.0.1")});
  ASSERT_FALSE(literal);
  EXPECT_NE(literal.error().message.find("refused: 127.0.0.1, loopback"), std::string::npos)
      << literal.error().message;
}

TEST(CheckDestination, AllowlistByNetworkAndByName) {
  auto allowlist = UrlAllowlist::Parse({"127.0.0.1/32", "files.internal.example"});
  ASSERT_TRUE(allowlist);
  EXPECT_TRUE(CheckDestination(*allowlist, "127.0.0.1", {Ip("127.0.0.1")}));
  EXPECT_TRUE(CheckDestination(*allowlist, "localhost", {Ip("127.0.0.1")}));
  EXPECT_FALSE(CheckDestination(*allowlist, "localhost", {Ip("127.0.0.1"), Ip("::1")}));
  EXPECT_TRUE(CheckDestination(*allowlist, "files.internal.example", {Ip("10.1.1.1")}));
  EXPECT_FALSE(CheckDestination(*allowlist, "other.internal.example", {Ip("10.1.1.1")}));
}

}  // namespace
}  // namespace fetch
