// The only translation unit of the fetch library that includes Beast and Asio's SSL.
//
// Each call owns an io_context and runs one asynchronous operation at a time to completion
// on the calling thread (Await): the code reads as blocking code, while every operation
// carries the deadline of beast::tcp_stream, which the blocking Beast calls lack.
#include "fetch/http_fetch.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>

#include "common/crypto.h"
#include "common/text.h"
#include "fetch/multipart.h"
#include "fetch/resolver.h"

namespace fetch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::uint32_t kHeadLimit = 64 * 1024;
constexpr int kMaxInterimResponses = 8;
constexpr std::size_t kErrorBodyBytes = 300;

// What one call sends after its head: nothing, or a file framed by `head` and `tail`.
struct Upload {
  std::string head;
  std::uint64_t size = 0;
  const Source* source = nullptr;
  std::string tail;
};

struct Request {
  http::verb verb = http::verb::get;
  std::string content_type;
  std::optional<Upload> upload;
  const Sink* sink = nullptr;  // set for downloads
};

// One request: resolution, policy, connection, exchange. Lives on the caller's stack.
class Call {
 public:
  Call(const Config& config, ssl::context& tls, const Url& url, const Limits& limits)
      : config_(config),
        tls_(tls),
        url_(url),
        limits_(limits),
        deadline_(Clock::now() + limits.total_timeout),
        connect_deadline_(std::min(deadline_, Clock::now() + limits.connect_timeout)) {}

  // Library and callback exceptions (allocation, SSL_new) end the call as errors here.
  FetchResult<Transfer> Run(const Request& request) {
    try {
      return RunUnguarded(request);
    } catch (const std::exception& e) {
      return Fail(ErrorKind::kProtocol, std::string("transfer failed: ") + e.what());
    }
  }

 private:
  FetchResult<Transfer> RunUnguarded(const Request& request) {
    auto endpoints = Destination();
    if (!endpoints) return std::unexpected(endpoints.error());
    if (!url_.https) {
      beast::tcp_stream stream(io_);
      return Exchange(stream, *endpoints, request);
    }
    beast::ssl_stream<beast::tcp_stream> stream(io_, tls_);
    return Exchange(stream, *endpoints, request);
  }

  std::unexpected<FetchError> Fail(ErrorKind kind, const std::string& why, unsigned status = 0) {
    return std::unexpected(FetchError{kind, url_.Redacted() + ": " + why, status});
  }

  // Runs one asynchronous operation to its end on this thread.
  template <typename Start>
  beast::error_code Await(Start&& start) {
    beast::error_code result = asio::error::operation_aborted;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  // An I/O failure as an error: a deadline that passed wins over whatever the stream said.
  std::unexpected<FetchError> IoFail(ErrorKind kind, const std::string& doing, beast::error_code ec,
                                     Clock::time_point deadline) {
    if (ec == beast::error::timeout || Clock::now() >= deadline) {
      const auto limit = deadline == deadline_ ? limits_.total_timeout : limits_.connect_timeout;
      return Fail(ErrorKind::kTimeout,
                  doing + ": no answer within " + std::to_string(limit.count()) + " ms");
    }
    return Fail(kind, doing + ": " + ec.message());
  }

  FetchResult<std::vector<tcp::endpoint>> Destination() {
    // A name allowed by --url-allow is still resolved here, once, like any other.
    std::vector<IpAddress> addresses;
    if (url_.literal) {
      addresses.push_back(*url_.literal);
    } else {
      auto resolved = ResolveOnce(url_.host, connect_deadline_);
      if (!resolved) return Fail(resolved.error().kind, resolved.error().message);
      addresses = std::move(*resolved);
    }
    if (auto allowed = CheckDestination(config_.allowlist, url_.host, addresses); !allowed)
      return Fail(ErrorKind::kRefused, allowed.error().message);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& address : addresses) {
      asio::ip::address ip;
      if (address.v6) {
        asio::ip::address_v6::bytes_type bytes;
        std::copy(address.bytes.begin(), address.bytes.end(), bytes.begin());
        ip = asio::ip::address_v6(bytes);
      } else {
        ip = asio::ip::address_v4(
            {address.bytes[0], address.bytes[1], address.bytes[2], address.bytes[3]});
      }
      endpoints.emplace_back(ip, url_.port);
    }
    return endpoints;
  }

  FetchResult<void> Connect(beast::tcp_stream& stream, const std::vector<tcp::endpoint>& to) {
    stream.expires_at(connect_deadline_);
    const auto ec = Await([&](auto handler) { stream.async_connect(to, std::move(handler)); });
    if (ec) return IoFail(ErrorKind::kConnect, "cannot connect", ec, connect_deadline_);
    return {};
  }

  FetchResult<void> Connect(beast::ssl_stream<beast::tcp_stream>& stream,
                            const std::vector<tcp::endpoint>& to) {
    if (auto ok = Connect(beast::get_lowest_layer(stream), to); !ok) return ok;
    SSL* ssl = stream.native_handle();
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const bool named = !url_.literal;
    const bool set =
        named ? SSL_set_tlsext_host_name(ssl, url_.host.c_str()) == 1 &&
                    SSL_set1_host(ssl, url_.host.c_str()) == 1
              : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str()) == 1;
    if (!set) return Fail(ErrorKind::kTls, "cannot set the TLS peer name");
    const auto ec = Await([&](auto handler) {
      stream.async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (!ec) return {};
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return Fail(ErrorKind::kTls, std::string("TLS certificate not accepted: ") +
                                       X509_verify_cert_error_string(verify));
    }
    return IoFail(ErrorKind::kTls, "TLS handshake failed", ec, connect_deadline_);
  }

  template <typename Stream>
  FetchResult<Transfer> Exchange(Stream& stream, const std::vector<tcp::endpoint>& to,
                                 const Request& request) {
    if (auto ok = Connect(stream, to); !ok) return std::unexpected(ok.error());
    beast::get_lowest_layer(stream).expires_at(deadline_);
    auto sent = Send(stream, request);
    // A write that failed may mean the server answered early and closed (a refused upload):
    // then its status is the better error. Other send failures end the call.
    if (!sent && sent.error().kind != ErrorKind::kProtocol) return std::unexpected(sent.error());
    beast::flat_buffer buffer(kHeadLimit + kChunkBytes);
    ParserSlot parser;
    auto head = ReadHead(stream, buffer, parser);
    if (!sent && (!head || (*head / 100) == 2)) return std::unexpected(sent.error());
    if (!head) return std::unexpected(head.error());
    auto& message = parser->get();
    const unsigned status = message.result_int();
    if (status / 100 != 2) return BadStatus(stream, buffer, *parser, status);
    Transfer transfer;
    transfer.status = status;
    transfer.content_type = std::string(message[http::field::content_type]);
    if (request.upload) {
      transfer.bytes = request.upload->size;
      return transfer;  // the response body is not needed; the connection closes
    }
    auto bytes = ReadBody(stream, buffer, *parser, *request.sink);
    if (!bytes) return std::unexpected(bytes.error());
    transfer.bytes = *bytes;
    return transfer;
  }

  template <typename Stream>
  FetchResult<void> Send(Stream& stream, const Request& request) {
    http::request<http::empty_body> head{request.verb, url_.target, 11};
    head.set(http::field::host, url_.HostHeader());
    head.set(http::field::user_agent, config_.user_agent);
    head.set(http::field::accept, "*/*");
    head.set(http::field::accept_encoding, "identity");
    head.set(http::field::connection, "close");
    if (!request.content_type.empty()) head.set(http::field::content_type, request.content_type);
    if (request.upload) {
      const auto& upload = *request.upload;
      head.content_length(upload.head.size() + upload.size + upload.tail.size());
    }
    auto ec = Await([&](auto handler) { http::async_write(stream, head, std::move(handler)); });
    if (ec) return IoFail(ErrorKind::kProtocol, "cannot send the request", ec, deadline_);
    if (!request.upload) return {};
    return SendBody(stream, *request.upload);
  }

  template <typename Stream>
  FetchResult<void> WriteAll(Stream& stream, std::string_view bytes) {
    if (bytes.empty()) return {};
    const auto ec = Await([&](auto handler) {
      asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
    });
    if (ec) return IoFail(ErrorKind::kProtocol, "cannot send the upload", ec, deadline_);
    return {};
  }

  template <typename Stream>
  FetchResult<void> SendBody(Stream& stream, const Upload& upload) {
    if (auto ok = WriteAll(stream, upload.head); !ok) return ok;
    std::vector<char> chunk(kChunkBytes);
    std::uint64_t sent = 0;
    while (sent < upload.size) {
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), upload.size - sent));
      auto got = (*upload.source)(std::span<char>(chunk.data(), want));
      if (!got) return Fail(ErrorKind::kCallback, got.error().message);
      if (*got == 0 || *got > want) {
        return Fail(ErrorKind::kCallback, "the file to upload ended after " + std::to_string(sent) +
                                              " of " + std::to_string(upload.size) + " bytes");
      }
      if (auto ok = WriteAll(stream, std::string_view(chunk.data(), *got)); !ok) return ok;
      sent += *got;
    }
    return WriteAll(stream, upload.tail);
  }

  using Parser = http::response_parser<http::buffer_body>;
  using ParserSlot = std::optional<Parser>;

  // The final response's head (interim 1xx ones are skipped); returns its status.
  template <typename Stream>
  FetchResult<unsigned> ReadHead(Stream& stream, beast::flat_buffer& buffer, ParserSlot& parser) {
    for (int interim = 0; interim <= kMaxInterimResponses; ++interim) {
      parser.emplace();
      parser->header_limit(kHeadLimit);
      // Enforced by ReadBody once the status is known. Not boost::none: Boost 1.74 compares a
      // Content-Length against a disabled limit as if it were exceeded.
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      const auto ec = Await([&](auto handler) {
        http::async_read_header(stream, buffer, *parser, std::move(handler));
      });
      if (ec) return IoFail(ErrorKind::kProtocol, "no valid response", ec, deadline_);
      const unsigned status = parser->get().result_int();
      if (status / 100 != 1 || status == 101) return status;
    }
    return Fail(ErrorKind::kProtocol, "too many interim (1xx) responses");
  }

  template <typename Stream>
  std::unexpected<FetchError> BadStatus(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
                                        unsigned status) {
    const std::string reason(parser.get().reason());
    std::string what = "the server answered " + std::to_string(status) +
                       (reason.empty() ? "" : " " + common::Printable(reason, 60));
    if (status / 100 == 3)
      return Fail(ErrorKind::kBadStatus, what + "; redirects are not followed", status);
    // The start of the body usually says why (S3's <Message>); one read, errors ignored.
    std::string start(kErrorBodyBytes, '\0');
    if (!parser.is_done()) {
      parser.get().body().data = start.data();
      parser.get().body().size = start.size();
      Await(
          [&](auto handler) { http::async_read_some(stream, buffer, parser, std::move(handler)); });
      start.resize(start.size() - parser.get().body().size);
      if (!start.empty()) what += ": " + common::Printable(start, kErrorBodyBytes);
    }
    return Fail(ErrorKind::kBadStatus, what, status);
  }

  template <typename Stream>
  FetchResult<std::uint64_t> ReadBody(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
                                      const Sink& sink) {
    const auto limit = "the limit of " + std::to_string(limits_.max_bytes) + " bytes";
    const auto too_large = [this](const std::string& why) {
      return Fail(ErrorKind::kTooLarge, why);
    };
    if (const auto length = parser.content_length(); length && *length > limits_.max_bytes)
      return too_large("the body has " + std::to_string(*length) + " bytes, more than " + limit);
    std::vector<char> chunk(kChunkBytes);
    std::uint64_t total = 0;
    while (!parser.is_done()) {
      auto& body = parser.get().body();
      body.data = chunk.data();
      body.size = chunk.size();
      auto ec = Await(
          [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = chunk.size() - body.size;
      if (ec) {
        if (ec == http::error::partial_message || ec == ssl::error::stream_truncated) {
          return Fail(ErrorKind::kProtocol, "the connection ended before the end of the body (" +
                                                std::to_string(total + got) + " bytes received)");
        }
        return IoFail(ErrorKind::kProtocol, "cannot read the body", ec, deadline_);
      }
      total += got;
      if (total > limits_.max_bytes) return too_large("the body grew past " + limit);
      if (got == 0) continue;
      if (auto ok = sink(std::string_view(chunk.data(), got)); !ok)
        return Fail(ErrorKind::kCallback, ok.error().message);
    }
    return total;
  }

  const Config& config_;
  ssl::context& tls_;
  const Url& url_;
  const Limits& limits_;
  const Clock::time_point deadline_;
  const Clock::time_point connect_deadline_;
  asio::io_context io_;
};

}  // namespace

struct Fetcher::Impl {
  Config config;
  ssl::context tls{ssl::context::tls_client};  // SSL_new on it is thread-safe
};

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kRefused:
      return "refused";
    case ErrorKind::kResolve:
      return "resolve";
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTls:
      return "tls";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kTooLarge:
      return "too_large";
    case ErrorKind::kBadStatus:
      return "bad_status";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kCallback:
      return "callback";
    case ErrorKind::kInvalid:
      return "invalid";
  }
  return "unknown";
}

Fetcher::Fetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fetcher::~Fetcher() = default;
Fetcher::Fetcher(Fetcher&&) noexcept = default;
Fetcher& Fetcher::operator=(Fetcher&&) noexcept = default;

common::Result<Fetcher> Fetcher::Create(Config config) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  SSL_CTX* ctx = impl->tls.native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
    return common::Fail("TLS: cannot require TLS 1.2");
  impl->tls.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (impl->config.ca_file.empty()) {
    impl->tls.set_default_verify_paths(ec);
  } else {
    impl->tls.load_verify_file(impl->config.ca_file, ec);
  }
  if (ec) {
    return common::Fail(
        "TLS: cannot load the trusted CAs" +
        (impl->config.ca_file.empty() ? std::string() : " from " + impl->config.ca_file) + ": " +
        ec.message());
  }
  return Fetcher(std::move(impl));
}

FetchResult<Transfer> Fetcher::Download(const Url& url, const Limits& limits,
                                        const Sink& sink) const {
  Request request;
  request.sink = &sink;
  return Call(impl_->config, impl_->tls, url, limits).Run(request);
}

FetchResult<Transfer> Fetcher::UploadPut(const Url& url, const Limits& limits, std::uint64_t size,
                                         const Source& source) const {
  Request request;
  request.verb = http::verb::put;
  request.content_type = "application/octet-stream";
  request.upload = Upload{"", size, &source, ""};
  return Call(impl_->config, impl_->tls, url, limits).Run(request);
}

FetchResult<Transfer> Fetcher::UploadPostForm(const Url& url, const FormFields& fields,
                                              std::string_view file_name, std::uint64_t size,
                                              const Source& source, const Limits& limits) const {
  auto boundary = common::RandomHex(16);
  if (!boundary) return std::unexpected(FetchError{ErrorKind::kInvalid, boundary.error().message});
  auto frame = BuildMultipartFrame(fields, file_name, "----code-interpreter-" + *boundary);
  if (!frame)
    return std::unexpected(
        FetchError{ErrorKind::kInvalid, url.Redacted() + ": " + frame.error().message});
  Request request;
  request.verb = http::verb::post;
  request.content_type = frame->content_type;
  request.upload = Upload{std::move(frame->head), size, &source, std::move(frame->tail)};
  return Call(impl_->config, impl_->tls, url, limits).Run(request);
}

}  // namespace fetch
