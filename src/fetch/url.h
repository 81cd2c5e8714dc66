// Parsing and validation of the URLs that URL import and export fetch from or upload to
// (`download_url`, `upload_url`). Pure; safe from any thread.
//
// Deliberately narrower than RFC 3986, since every URL comes from a user and is fetched by the
// server: only http and https; no userinfo ("user:pass@host" is refused, not stripped: it
// hides the real host from a reader); the host is a strict dotted-quad IPv4, a bracketed IPv6
// literal without zone, or a DNS name (IsValidHostName: no percent-encoding, no IPv4 in
// disguise such as "2130706433" or "0x7f.1"); port 1..65535; no byte below 0x21, DEL or
// non-ASCII anywhere (they must be percent-encoded), so nothing can split the request line;
// at most 8 KiB. The fragment is dropped (never sent).
//
// Error strings are meant for users (they become 422 `detail` entries) and never repeat the
// query, which for presigned URLs holds the signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "fetch/address_policy.h"

namespace fetch {

inline constexpr std::size_t kMaxUrlBytes = 8192;

struct Url {
  bool https = false;
  std::string host;                  // lower case, no trailing dot, IPv6 without brackets
  std::optional<IpAddress> literal;  // set when host is an IP literal
  std::uint16_t port = 0;            // explicit or the scheme's default
  std::string target;                // origin-form request target: "/path?query", never empty

  // The Host header: host, [v6] in brackets, ":port" only when not the default.
  std::string HostHeader() const;
  // scheme://host[:port]/path for messages and logs: the query is shown as "?..." since a
  // presigned URL's query is a credential.
  std::string Redacted() const;
};

common::Result<Url> ParseUrl(std::string_view text);

}  // namespace fetch
