// The error of an outbound fetch: what kind of failure (so the caller can map it to a status
// and a `detail`), and a sentence for users. Value types; no I/O.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace fetch {

enum class ErrorKind {
  kRefused,    // the request forgery policy refused the destination
  kResolve,    // the host name did not resolve
  kConnect,    // no address accepted a TCP connection
  kTls,        // handshake or certificate verification failed
  kTimeout,    // connect_timeout or total_timeout passed
  kTooLarge,   // the body is larger than Limits::max_bytes
  kBadStatus,  // a status outside 2xx (3xx included): `status` is set
  kProtocol,   // the server broke HTTP, or closed before the end of the body
  kCallback,   // the sink or source failed (its message is kept)
  kInvalid,    // a bad argument (e.g. a form field name with a quote)
};

// "refused", "resolve", "connect", "tls", "timeout", "too_large", "bad_status", "protocol",
// "callback", "invalid".
std::string_view ErrorKindName(ErrorKind kind);

struct FetchError {
  ErrorKind kind;
  std::string message;  // names the redacted URL and the cause
  unsigned status = 0;  // kBadStatus only
};

template <typename T>
using FetchResult = std::expected<T, FetchError>;

}  // namespace fetch
