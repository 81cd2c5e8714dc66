#include "gateway/connection_limits.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

namespace gateway {
namespace {

using Verdict = ConnectionLimits::Verdict;
using std::chrono::milliseconds;

TEST(AddressKeyTest, Ipv4IsItself) { EXPECT_EQ(AddressKey("192.0.2.7"), "192.0.2.7"); }

TEST(AddressKeyTest, MappedIpv4CountsAsIpv4) {
  EXPECT_EQ(AddressKey("::ffff:192.0.2.7"), "192.0.2.7");
}

TEST(AddressKeyTest, Ipv6CountsByItsSlash64) {
  EXPECT_EQ(AddressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressKey("2001:db8:1:2:bbbb::9"), AddressKey("2001:db8:1:2:aaaa::1"));
  EXPECT_NE(AddressKey("2001:db8:1:3::1"), AddressKey("2001:db8:1:2::1"));
  EXPECT_EQ(AddressKey("::1"), "::/64");
}

TEST(AddressKeyTest, NonAddressIsItsOwnKey) { EXPECT_EQ(AddressKey("nonsense"), "nonsense"); }

TEST(ConnectionLimitsTest, PerAddressLimitRefusesOnlyThatAddress) {
  ConnectionLimits limits({.max_total = 10, .max_per_address = 2});
  limits.Add("a");
  EXPECT_EQ(limits.Check("a"), Verdict::kAdmit);
  limits.Add("a");
  EXPECT_EQ(limits.Check("a"), Verdict::kAddressFull);
  EXPECT_EQ(limits.Check("b"), Verdict::kAdmit);
  limits.Remove("a");
  EXPECT_EQ(limits.Check("a"), Verdict::kAdmit);
  EXPECT_EQ(limits.From("a"), 1u);
}

TEST(ConnectionLimitsTest, TotalLimitCountsEveryAddress) {
  ConnectionLimits limits({.max_total = 3, .max_per_address = 2});
  limits.Add("a");
  limits.Add("b");
  limits.Add("c");
  EXPECT_EQ(limits.Total(), 3u);
  EXPECT_EQ(limits.Check("d"), Verdict::kTotalFull);
  limits.Add("a");  // made room by evicting elsewhere: still counted
  EXPECT_EQ(limits.Check("a"), Verdict::kAddressFull) << "its own share is checked first";
  limits.Remove("b");
  limits.Remove("c");
  EXPECT_EQ(limits.Check("d"), Verdict::kAdmit);
}

TEST(ConnectionLimitsTest, ZeroPerAddressMeansNoPerAddressLimit) {
  ConnectionLimits limits({.max_total = 100, .max_per_address = 0});
  for (int i = 0; i < 99; ++i) limits.Add("a");
  EXPECT_EQ(limits.Check("a"), Verdict::kAdmit);
  limits.Add("a");
  EXPECT_EQ(limits.Check("a"), Verdict::kTotalFull);
}

TEST(ConnectionLimitsTest, RemovingAnUnknownKeyChangesNothing) {
  ConnectionLimits limits({.max_total = 1, .max_per_address = 1});
  limits.Add("a");
  limits.Remove("b");
  EXPECT_EQ(limits.Total(), 1u);
  limits.Remove("a");
  EXPECT_EQ(limits.Total(), 0u);
  EXPECT_EQ(limits.From("a"), 0u);
}

TEST(AcceptBackoffTest, GrowsByHalfUpToTheMostAndLogsOncePerEpisode) {
  AcceptBackoff backoff(milliseconds(100), milliseconds(300));
  auto wait = backoff.Failed();
  EXPECT_EQ(wait.delay, milliseconds(100));
  EXPECT_TRUE(wait.starts_episode);
  wait = backoff.Failed();
  EXPECT_EQ(wait.delay, milliseconds(150));
  EXPECT_FALSE(wait.starts_episode);
  EXPECT_EQ(backoff.Failed().delay, milliseconds(225));
  EXPECT_EQ(backoff.Failed().delay, milliseconds(300));
  EXPECT_EQ(backoff.Failed().delay, milliseconds(300));
  EXPECT_EQ(backoff.Succeeded(), 5u);
  EXPECT_EQ(backoff.Succeeded(), 0u) << "a success outside an episode ends none";
  wait = backoff.Failed();
  EXPECT_TRUE(wait.starts_episode);
  EXPECT_EQ(wait.delay, milliseconds(100)) << "a new episode starts from the first delay";
}

TEST(AcceptBackoffTest, ExhaustionAndUnknownErrorsBackOff) {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EBADF}) EXPECT_FALSE(RetryAcceptAtOnce(e)) << e;
  for (int e : {ECONNABORTED, EPROTO, EINTR, EPERM}) EXPECT_TRUE(RetryAcceptAtOnce(e)) << e;
}

}  // namespace
}  // namespace gateway
