#include "fetch/address_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace fetch {
namespace {

struct Range {
  Network network;
  const char* what;
};

Network V4Net(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, int prefix) {
  return Network{IpAddress::V4(a, b, c, d), prefix};
}

Network V6Net(std::initializer_list<std::uint16_t> groups, int prefix) {
  IpAddress base;
  base.v6 = true;
  int i = 0;
  for (const auto g : groups) {
    base.bytes[i++] = static_cast<std::uint8_t>(g >> 8);
    base.bytes[i++] = static_cast<std::uint8_t>(g & 0xff);
  }
  return Network{base, prefix};
}

// Most specific first: the first match names the reason.
const std::vector<Range>& V4Refused() {
  static const std::vector<Range> ranges = {
      {V4Net(0, 0, 0, 0, 32), "unspecified"},
      {V4Net(0, 0, 0, 0, 8), "\"this network\""},
      {V4Net(10, 0, 0, 0, 8), "private"},
      {V4Net(100, 64, 0, 0, 10), "shared address space (CGNAT)"},
      {V4Net(127, 0, 0, 0, 8), "loopback"},
      {V4Net(169, 254, 169, 254, 32), "cloud metadata service (link-local)"},
      {V4Net(169, 254, 0, 0, 16), "link-local"},
      {V4Net(172, 16, 0, 0, 12), "private"},
      {V4Net(192, 0, 0, 0, 24), "IETF protocol assignments"},
      {V4Net(192, 0, 2, 0, 24), "documentation (TEST-NET-1)"},
      {V4Net(192, 88, 99, 0, 24), "6to4 relay anycast"},
      {V4Net(192, 168, 0, 0, 16), "private"},
      {V4Net(198, 18, 0, 0, 15), "benchmarking"},
      {V4Net(198, 51, 100, 0, 24), "documentation (TEST-NET-2)"},
      {V4Net(203, 0, 113, 0, 24), "documentation (TEST-NET-3)"},
      {V4Net(224, 0, 0, 0, 4), "multicast"},
      {V4Net(255, 255, 255, 255, 32), "broadcast"},
      {V4Net(240, 0, 0, 0, 4), "reserved"},
  };
  return ranges;
}

const std::vector<Range>& V6Refused() {
  static const std::vector<Range> ranges = {
      {V6Net({}, 128), "unspecified"},
      {V6Net({0, 0, 0, 0, 0, 0, 0, 1}, 128), "loopback"},
      {V6Net({}, 96), "IPv4-compatible (deprecated)"},
      {V6Net({0x64, 0xff9b, 1}, 48), "local-use NAT64"},
      {V6Net({0x100}, 64), "discard-only"},
      {V6Net({0xfc00}, 7), "unique-local"},
      {V6Net({0xfe80}, 10), "link-local"},
      {V6Net({0xfec0}, 10), "site-local (deprecated)"},
      {V6Net({0xff00}, 8), "multicast"},
      {V6Net({0x2001, 0xdb8}, 32), "documentation"},
      {V6Net({0x3fff}, 20), "documentation"},
      {V6Net({0x2001}, 23), "IETF protocol assignments (Teredo, benchmarking, ORCHID)"},
  };
  return ranges;
}

std::string Describe(const Range& range) {
  return std::string(range.what) + " " + range.network.ToString();
}

std::optional<std::string> V4Reason(const IpAddress& address) {
  for (const auto& range : V4Refused())
    if (range.network.Contains(address)) return Describe(range);
  return std::nullopt;
}

IpAddress V4At(const IpAddress& address, int offset) {
  const auto& b = address.bytes;
  return IpAddress::V4(b[offset], b[offset + 1], b[offset + 2], b[offset + 3]);
}

// The IPv4 address that a translation prefix carries, if `address` is in one.
struct Embedding {
  Network prefix;
  const char* what;
  int offset;
};

const std::vector<Embedding>& Embeddings() {
  static const std::vector<Embedding> embeddings = {
      {V6Net({0, 0, 0, 0, 0, 0xffff}, 96), "IPv4-mapped", 12},
      {V6Net({0x64, 0xff9b}, 96), "NAT64", 12},
      {V6Net({0x2002}, 16), "6to4", 2},
  };
  return embeddings;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string NormalizeHost(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  return Lower(host);
}

common::Result<Network> ParseNetwork(std::string_view entry) {
  const auto slash = entry.find('/');
  const auto address = IpAddress::Parse(entry.substr(0, slash));
  if (!address) return common::Fail("not an IP address");
  const int max = address->v6 ? 128 : 32;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const auto digits = entry.substr(slash + 1);
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || prefix < 0 ||
        prefix > max)
      return common::Fail("prefix length must be 0.." + std::to_string(max));
  }
  IpAddress zeroed = *address;
  for (int bit = prefix; bit < max; ++bit)
    zeroed.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  if (zeroed != *address)
    return common::Fail("host bits are set (did you mean " + Network{zeroed, prefix}.ToString() +
                        "?)");
  return Network{*address, prefix};
}

}  // namespace

IpAddress IpAddress::V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress address;
  address.bytes[0] = a;
  address.bytes[1] = b;
  address.bytes[2] = c;
  address.bytes[3] = d;
  return address;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress address;
  // glibc's inet_pton(AF_INET) takes exactly four decimal parts without leading zeros.
  if (inet_pton(AF_INET, s.c_str(), address.bytes.data()) == 1) return address;
  address.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), address.bytes.data()) == 1) return address;
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof(text));
  return text;
}

IpAddress IpAddress::Unmapped() const {
  const auto& mapped = Embeddings().front();
  return v6 && mapped.prefix.Contains(*this) ? V4At(*this, mapped.offset) : *this;
}

bool Network::Contains(const IpAddress& address) const {
  if (address.v6 != base.v6) return false;
  const int full = prefix / 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + full, address.bytes.begin()))
    return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (base.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::string Network::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

std::optional<std::string> RefusalReason(const IpAddress& address) {
  if (!address.v6) return V4Reason(address);
  for (const auto& embedding : Embeddings()) {
    if (!embedding.prefix.Contains(address)) continue;
    const auto v4 = V4At(address, embedding.offset);
    if (auto reason = V4Reason(v4)) {
      return std::string(embedding.what) + " " + embedding.prefix.ToString() + " carrying " +
             v4.ToString() + ", " + *reason;
    }
    return std::nullopt;
  }
  for (const auto& range : V6Refused())
    if (range.network.Contains(address)) return Describe(range);
  if (!V6Net({0x2000}, 3).Contains(address)) return "not global unicast (outside 2000::/3)";
  return std::nullopt;
}

bool IsValidHostName(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return false;
  std::string_view last;
  while (!host.empty()) {
    const auto dot = host.find('.');
    const auto label = host.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (const unsigned char c : label)
      if (!std::isalnum(c) && c != '-' && c != '_') return false;
    last = label;
    host = dot == std::string_view::npos ? std::string_view() : host.substr(dot + 1);
  }
  return !std::isdigit(static_cast<unsigned char>(last.front()));
}

common::Result<UrlAllowlist> UrlAllowlist::Parse(const std::vector<std::string>& entries) {
  UrlAllowlist allowlist;
  for (const auto& entry : entries) {
    const auto fail = [&entry](const std::string& why) {
      return common::Fail("--url-allow \"" + entry + "\": " + why);
    };
    if (entry.empty()) return fail("empty entry");
    const bool numeric =
        entry.find_first_of(":/") != std::string::npos || IpAddress::Parse(entry).has_value();
    if (numeric) {
      auto network = ParseNetwork(entry);
      if (!network) return fail(network.error().message);
      allowlist.networks_.push_back(*network);
    } else if (IsValidHostName(entry)) {
      allowlist.hosts_.push_back(NormalizeHost(entry));
    } else {
      return fail("neither an address, a network (addr/prefix) nor a host name");
    }
  }
  return allowlist;
}

bool UrlAllowlist::AllowsHost(std::string_view host) const {
  return std::ranges::find(hosts_, NormalizeHost(host)) != hosts_.end();
}

bool UrlAllowlist::AllowsAddress(const IpAddress& address) const {
  const auto unmapped = address.Unmapped();
  return std::ranges::any_of(networks_, [&](const Network& network) {
    return network.Contains(address) || network.Contains(unmapped);
  });
}

common::Result<void> CheckDestination(const UrlAllowlist& allowlist, std::string_view host,
                                      const std::vector<IpAddress>& addresses) {
  if (allowlist.AllowsHost(host)) return {};
  if (addresses.empty()) return common::Fail(std::string(host) + " has no address");
  for (const auto& address : addresses) {
    if (allowlist.AllowsAddress(address)) continue;
    if (auto reason = RefusalReason(address)) {
      const auto text = address.ToString();
      const std::string who = text == host ? text : std::string(host) + " resolves to " + text;
      return common::Fail("refused: " + who + ", " + *reason +
                          " (not a public address; an operator may allow it with --url-allow)");
    }
  }
  return {};
}

}  // namespace fetch
