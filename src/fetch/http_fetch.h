// The outbound HTTP(S) client of URL import (Download) and export (UploadPut, UploadPostForm).
//
// BLOCKING: every call does its network I/O on the calling thread and returns when the
// transfer ended, failed or ran out of time. Call it from a blocking thread pool, never from
// the gateway's Asio thread. A Fetcher is immutable after Create and may be used by any number
// of threads at once; each call makes its own connection (no keep-alive, no pooling). Bounding
// how many transfers run at once is the caller's job (e.g. a std::counting_semaphore).
//
// Guarantees, in the order a call goes through them:
//   1. Destination. The URL was validated by ParseUrl (scheme, no userinfo, port). A host name
//      is resolved exactly once (getaddrinfo, A and AAAA); every address it yields is checked
//      by CheckDestination (address_policy.h) and the connection goes to those same addresses,
//      in the resolver's order, never to a name: no second resolution, so DNS rebinding
//      between check and connect is impossible. A literal IP is checked the same way. Proxy
//      environment variables are ignored.
//   2. TLS (https). Certificates are verified against the system's CAs (OpenSSL's default
//      paths, Debian's ca-certificates) or, when Config::ca_file is set, that file only; the
//      name is checked against the certificate (SAN DNS, or SAN IP for a literal) with
//      partial wildcards refused; SNI is sent for names. TLS 1.2 at least. A TLS stream that
//      ends without close_notify while the body is delimited by the end of the connection is
//      an error (a truncation attacker cannot shorten a file).
//   3. No redirects: a 3xx response is an error naming its status (kBadStatus); the Location
//      is not followed. Any status outside 2xx is kBadStatus with the status and the start of
//      the body, made printable.
//   4. Size. Download: a Content-Length above Limits::max_bytes is refused before any byte is
//      read; a body without one (chunked or to the end of the connection) is cut off when it
//      passes max_bytes (kTooLarge); bytes beyond a declared Content-Length are never read.
//      Response heads are bounded (64 KiB). Memory per call is one 64 KiB buffer plus the
//      head, whatever the transfer's size.
//   5. Time. connect_timeout bounds resolution, TCP connect (all addresses together) and the
//      TLS handshake; total_timeout bounds the whole call, including the time spent in the
//      sink or source callbacks. A stalled server costs at most total_timeout (plus the
//      scheduling slack of the calling thread). A resolver that does not answer is abandoned
//      at the deadline (its thread finishes in the background within the resolver's own
//      timeouts, /etc/resolv.conf).
//   6. Outcome. Success is a 2xx status after the whole body was read (Download) or the whole
//      file sent and the response read (uploads). On any error the sink may already have been
//      given part of the body: the caller writes to a temporary file and renames on success.
//
// Messages never contain the URL's query (Url::Redacted), which for presigned URLs is a
// credential.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "fetch/address_policy.h"
#include "fetch/fetch_error.h"
#include "fetch/url.h"

namespace fetch {

struct Limits {
  std::uint64_t max_bytes = 100ull << 20;  // response body of a download
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds total_timeout = std::chrono::minutes(5);
};

struct Config {
  UrlAllowlist allowlist;  // the operator's --url-allow
  std::string ca_file;     // PEM bundle to trust instead of the system's CAs (tests)
  std::string user_agent = "code-interpreter";
};

struct Transfer {
  unsigned status = 0;      // the 2xx status
  std::uint64_t bytes = 0;  // body bytes received (Download) or sent (uploads)
  std::string content_type;
};

// Receives the body in order, in chunks of at most 64 KiB; an error aborts the download with
// kCallback (e.g. the workspace is full).
using Sink = std::function<common::Result<void>(std::string_view chunk)>;
// Fills up to buffer.size() bytes of the upload body and returns how many; returning 0 before
// `size` bytes were given, or an error, aborts the upload with kCallback.
using Source = std::function<common::Result<std::size_t>(std::span<char> buffer)>;

using FormFields = std::vector<std::pair<std::string, std::string>>;

class Fetcher {
 public:
  // Loads the trust store (system CAs, or config.ca_file); fails when it cannot.
  static common::Result<Fetcher> Create(Config config);
  ~Fetcher();
  Fetcher(Fetcher&&) noexcept;
  Fetcher& operator=(Fetcher&&) noexcept;

  // GET url; the body goes to `sink`.
  FetchResult<Transfer> Download(const Url& url, const Limits& limits, const Sink& sink) const;

  // PUT url with Content-Length: size and Content-Type: application/octet-stream (presigned
  // PUT URLs are signed without a content type or with this one).
  FetchResult<Transfer> UploadPut(const Url& url, const Limits& limits, std::uint64_t size,
                                  const Source& source) const;

  // POST url as multipart/form-data with Content-Length: the presigned POST of S3 and its
  // kin. `fields` first, in order, then the file as part "file" with `file_name` (quotes,
  // backslashes and control bytes in it are replaced by '_'). A field name with '"', CR or
  // LF is kInvalid.
  FetchResult<Transfer> UploadPostForm(const Url& url, const FormFields& fields,
                                       std::string_view file_name, std::uint64_t size,
                                       const Source& source, const Limits& limits) const;

 private:
  struct Impl;
  explicit Fetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetch
