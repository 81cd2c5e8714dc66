// Which network addresses an outbound fetch (URL import and export) may connect to: the
// server-side request forgery policy. Pure functions and an immutable allowlist; safe from any
// thread once built.
//
// The policy is "public unicast only": an address is refused when it is, or embeds, anything a
// server-side fetch must never reach on its own network:
//
//   IPv4  0.0.0.0/8 this network (0.0.0.0 unspecified), 10/8, 172.16/12, 192.168/16 private,
//         100.64/10 shared (CGNAT), 127/8 loopback, 169.254/16 link-local (169.254.169.254 is
//         the cloud metadata service), 192.0.0/24 IETF protocol assignments, 192.0.2/24,
//         198.51.100/24, 203.0.113/24 documentation, 192.88.99/24 6to4 relay anycast,
//         198.18/15 benchmarking, 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast.
//   IPv6  everything outside 2000::/3 (global unicast): :: unspecified, ::1 loopback,
//         fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local, ff00::/8
//         multicast, ::/96 IPv4-compatible (deprecated), 64:ff9b:1::/48 local-use NAT64,
//         100::/64 discard, and the rest of the unassigned space; inside 2000::/3,
//         2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID), 2001:db8::/32 and
//         3fff::/20 documentation.
//   Embedded IPv4: ::ffff:a.b.c.d (IPv4-mapped), 64:ff9b::a.b.c.d (NAT64) and 2002:AABB:CCDD::
//         (6to4) are judged by the IPv4 address they carry: allowed when that one is public.
//
// An operator may allow more with `--url-allow` entries (UrlAllowlist): a network
// ("10.0.0.0/8", "::1", "127.0.0.1/32") allows the addresses in it, a host name
// ("files.internal.example") allows that exact name whatever it resolves to.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fetch {

// An IPv4 or IPv6 address as bytes (IPv4 uses the first 4). Value type, no Asio.
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};

  static IpAddress V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

  // Strict textual forms only: dotted quad without leading zeros, or RFC 4291 IPv6 (no zone,
  // no brackets). Anything else (e.g. "127.1", "0x7f.0.0.1") is nullopt.
  static std::optional<IpAddress> Parse(std::string_view text);

  std::string ToString() const;

  // The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for, or itself.
  // Allowlist networks are matched against this, since both forms reach the same host.
  IpAddress Unmapped() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Why `address` must not be fetched from ("loopback 127.0.0.0/8", "IPv4-mapped
// ::ffff:0:0/96 carrying private 10.0.0.0/8", ...), or nullopt when it is public unicast.
std::optional<std::string> RefusalReason(const IpAddress& address);

struct Network {
  IpAddress base;
  int prefix = 0;  // 0..32 for IPv4, 0..128 for IPv6

  bool Contains(const IpAddress& address) const;
  std::string ToString() const;
};

// The operator's exceptions to the policy. Immutable after Parse.
class UrlAllowlist {
 public:
  UrlAllowlist() = default;

  // Each entry is an address ("::1", same as /32 or /128), a network "addr/prefix" (host bits
  // must be zero: "10.0.0.1/8" is refused as a likely mistake) or a host name (letters,
  // digits, '-', '.'; compared case-insensitively, without a trailing dot). Wildcards are not
  // supported. The error names the offending entry.
  static common::Result<UrlAllowlist> Parse(const std::vector<std::string>& entries);

  // `host` as it appears in the URL (normalized by ParseUrl: lower case, no trailing dot).
  bool AllowsHost(std::string_view host) const;
  bool AllowsAddress(const IpAddress& address) const;
  bool Empty() const { return hosts_.empty() && networks_.empty(); }

 private:
  std::vector<std::string> hosts_;
  std::vector<Network> networks_;
};

// The whole decision for one request: ok when `host` is allowed by name, or when every one of
// `addresses` is public or in an allowed network; otherwise the error names the first refused
// address and why ("refused: localhost resolves to 127.0.0.1, loopback 127.0.0.0/8; ...").
// An empty `addresses` is refused too.
common::Result<void> CheckDestination(const UrlAllowlist& allowlist, std::string_view host,
                                      const std::vector<IpAddress>& addresses);

// True for host names a URL may carry: RFC 1123 labels (letters, digits, '-', and '_' which
// some internal DNS uses), 1..63 bytes each, 253 in all, whose last label does not start with
// a digit (such names are IPv4 in disguise for the resolver's inet_aton: "2130706433",
// "127.1", "0x7f000001"; TLDs are alphabetic).
bool IsValidHostName(std::string_view host);

}  // namespace fetch
