#include "fetch/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace fetch {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IsDefaultPort(const Url& url) { return url.port == (url.https ? 443 : 80); }

std::string HostForm(const Url& url) {
  return url.literal && url.literal->v6 ? "[" + url.host + "]" : url.host;
}

common::Result<std::uint16_t> ParsePort(std::string_view digits) {
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
      !std::ranges::all_of(digits, [](unsigned char c) { return std::isdigit(c); }) || port < 1 ||
      port > 65535)
    return common::Fail("the URL's port must be a number from 1 to 65535");
  return static_cast<std::uint16_t>(port);
}

// Splits "host[:port]" or "[v6][:port]" and validates the host.
common::Result<void> ParseAuthority(std::string_view authority, Url& url) {
  if (authority.find('@') != std::string_view::npos)
    return common::Fail("URLs with credentials (user@host) are not accepted");
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return common::Fail("the URL's IPv6 host lacks ']'");
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return common::Fail("the URL has bytes after its IPv6 host");
      port = rest.substr(1);
    }
    if (host.find('%') != std::string_view::npos)
      return common::Fail("IPv6 zone identifiers are not accepted in URLs");
    url.literal = IpAddress::Parse(host);
    if (!url.literal || !url.literal->v6)
      return common::Fail("the URL's host in [] is not an IPv6 address");
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return common::Fail("the URL has no host");
    url.literal = IpAddress::Parse(host);
    if (!url.literal && !IsValidHostName(host))
      return common::Fail("the URL's host is not a valid host name or IP address");
    if (url.literal && url.literal->v6)
      return common::Fail("an IPv6 host must be written in brackets: [" + std::string(host) + "]");
  }
  if (host.ends_with('.')) host.remove_suffix(1);
  url.host = url.literal ? url.literal->ToString() : Lower(host);
  url.port = url.https ? 443 : 80;
  if (port) {
    auto parsed = ParsePort(*port);
    if (!parsed) return std::unexpected(parsed.error());
    url.port = *parsed;
  }
  return {};
}

}  // namespace

std::string Url::HostHeader() const {
  return IsDefaultPort(*this) ? HostForm(*this) : HostForm(*this) + ":" + std::to_string(port);
}

std::string Url::Redacted() const {
  const auto query = target.find('?');
  return std::string(https ? "https://" : "http://") + HostHeader() + target.substr(0, query) +
         (query == std::string::npos ? "" : "?...");
}

common::Result<Url> ParseUrl(std::string_view text) {
  if (text.size() > kMaxUrlBytes)
    return common::Fail("the URL is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  for (const unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f)
      return common::Fail("the URL contains a space, a control or a non-ASCII byte");
  }
  Url url;
  const auto colon = text.find(':');
  const std::string scheme = Lower(text.substr(0, colon));
  if (colon == std::string_view::npos || (scheme != "http" && scheme != "https"))
    return common::Fail("only http:// and https:// URLs are accepted");
  url.https = scheme == "https";
  auto rest = text.substr(colon + 1);
  if (!rest.starts_with("//")) return common::Fail("the URL must start with " + scheme + "://");
  rest.remove_prefix(2);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto end = rest.find_first_of("/?");
  if (auto ok = ParseAuthority(rest.substr(0, end), url); !ok) return std::unexpected(ok.error());
  url.target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
  if (url.target.front() == '?') url.target.insert(0, "/");
  if (url.target.find('\\') != std::string::npos)
    return common::Fail("the URL contains a backslash (percent-encode it as %5C)");
  return url;
}

}  // namespace fetch
