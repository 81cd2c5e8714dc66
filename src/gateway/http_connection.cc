#include "gateway/http_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <limits>

#include "gateway/file_sender.h"

namespace gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// A refused or broken request's connection reads and drops what the client still sends for
// this long before it closes (see Close).
constexpr auto kDrainTime = std::chrono::seconds(2);

// Acknowledge what arrives at once, not after the 40 ms of a delayed ACK: a client that writes
// a request's head and body separately with Nagle's algorithm on (Python's httpx, among
// others) holds the body back until the head is acknowledged. Not permanent in the kernel, so
// set again before each read that may wait for a client's next segment.
void QuickAck(tcp::socket& socket) {
  const int one = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

HttpResponse TooLarge(std::size_t limit) {
  return ErrorResponse(413, "Request body exceeds " + std::to_string(limit) + " bytes");
}

}  // namespace

common::metrics::Gauge& OpenConnections() {
  static common::metrics::Gauge& gauge = common::metrics::Default().GetGauge(
      "code_interpreter_http_connections", "Open client connections.");
  return gauge;
}

common::metrics::Counter& BodyBytesIn() {
  static common::metrics::Counter& counter = common::metrics::Default().GetCounter(
      "code_interpreter_http_request_body_bytes_total", "Bytes of request bodies read.");
  return counter;
}

common::metrics::Counter& BodyBytesOut() {
  static common::metrics::Counter& counter = common::metrics::Default().GetCounter(
      "code_interpreter_http_response_body_bytes_total", "Bytes of response bodies sent.");
  return counter;
}

HttpConnection::HttpConnection(tcp::socket socket, std::shared_ptr<ConnectionHost> host,
                               std::string address_key)
    : stream_(std::move(socket)), host_(std::move(host)), address_key_(std::move(address_key)) {
  host_->Opened(this);
  OpenConnections().Add(1);
}

HttpConnection::~HttpConnection() {
  OpenConnections().Add(-1);
  host_->Closed(this);
  Uncount();
}

void HttpConnection::Start() {
  request_start_ = waiting_since_ = Clock::now();
  DoReadHeader();
}

void HttpConnection::CloseIfIdle() {
  if (busy_) return;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

std::optional<HttpConnection::Clock::time_point> HttpConnection::WaitingSince() const {
  if (!waiting_ || !counted_) return std::nullopt;
  return waiting_since_;
}

void HttpConnection::Evict() {
  Uncount();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();  // pending reads end with operation_aborted, and the connection with them
}

void HttpConnection::Uncount() {
  if (!counted_) return;
  counted_ = false;
  host_->Uncount(address_key_);
}

// Keep-alive: the next request starts with its first byte; until then the connection is idle.
void HttpConnection::DoWaitForRequest() {
  if (buffer_.size() > 0) {  // pipelined: it has started already
    request_start_ = Clock::now();
    return DoReadHeader();
  }
  waiting_ = true;
  waiting_since_ = Clock::now();
  QuickAck(stream_.socket());
  stream_.expires_after(host_->Config().idle_timeout);
  stream_.async_read_some(buffer_.prepare(1024),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            if (ec) return self->OnReadError(ec);
                            self->buffer_.commit(n);
                            self->request_start_ = Clock::now();
                            self->DoReadHeader();
                          });
}

void HttpConnection::DoReadHeader() {
  const ServerConfig& config = host_->Config();
  QuickAck(stream_.socket());
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
  // The Content-Length is judged after the token (OnReadHeader), the body limit set then.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  stream_.expires_at(request_start_ + std::min(config.header_timeout, config.read_timeout));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnReadHeader(ec); });
}

void HttpConnection::OnReadHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  waiting_ = false;
  const auto& head = parser_->get();
  request_ = HttpRequest{};
  request_.method = std::string(head.method_string());
  request_.target = std::string(head.target());
  if (const auto it = head.find("X-Auth-Token"); it != head.end()) {
    request_.auth_token = std::string(it->value());
  } else if (const auto bearer = head.find(http::field::authorization); bearer != head.end()) {
    // The same token as a bearer credential (Prometheus scrapers, MCP clients).
    const beast::string_view value = bearer->value();
    if (value.size() > 7 && beast::iequals(value.substr(0, 7), "Bearer "))
      request_.auth_token = std::string(value.substr(7));
  }
  if (const auto it = head.find(http::field::range); it != head.end())
    request_.range = std::string(it->value());
  request_.content_type = std::string(head[http::field::content_type]);
  request_.origin = std::string(head[http::field::origin]);
  request_.accept = std::string(head[http::field::accept]);
  if (const auto it = head.find("Last-Event-ID"); it != head.end())
    request_.last_event_id = std::string(it->value());
  request_.mcp_session = std::string(head["Mcp-Session-Id"]);
  request_.mcp_protocol_version = std::string(head["MCP-Protocol-Version"]);
  if (auto refusal = CheckHead(request_, host_->Config().router)) {
    // A preflight's answer, for a request without a body, keeps the connection; a refusal
    // closes it rather than read a body nobody asked for.
    const bool answered = refusal->status == 204 && parser_->is_done();
    return Reply(std::move(*refusal), answered && head.keep_alive());
  }
  if (IsStreamedUpload(request_)) return BeginStreamedUpload();
  const std::size_t max_body = host_->Config().max_body_bytes;
  if (const auto length = parser_->content_length(); length && *length > max_body)
    return Reply(TooLarge(max_body), false);
  parser_->body_limit(max_body);
  stream_.expires_at(request_start_ + host_->Config().read_timeout);
  if (parser_->is_done()) return OnRead({});
  if (beast::iequals(head[http::field::expect], "100-continue")) {
    return asio::async_write(stream_, asio::buffer(kContinue, sizeof kContinue - 1),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->Close();
                               self->DoReadBody();
                             });
  }
  DoReadBody();
}

void HttpConnection::DoReadBody() {
  QuickAck(stream_.socket());
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
}

void HttpConnection::OnReadError(beast::error_code ec) {
  const ServerConfig& config = host_->Config();
  if (ec == http::error::body_limit) return Reply(TooLarge(config.max_body_bytes), false);
  if (ec == http::error::header_limit)
    return Reply(ErrorResponse(431, "Request headers too large"), false);
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::eof) {
    return Close();
  }
  Reply(ErrorResponse(400, "Malformed HTTP request: " + ec.message()), false);
}

void HttpConnection::OnRead(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  http::request<http::string_body> message = parser_->release();
  request_.body = std::move(message.body());
  BodyBytesIn().Add(static_cast<double>(request_.body.size()));
  const bool keep_alive = message.keep_alive();
  busy_ = true;
  request_.id = host_->NextRequestId();
  pending_ = request_.id;
  const std::uint64_t id = request_.id;
  stream_.expires_never();  // an execution may take minutes; its own timeout applies
  HandleRequest(request_, host_->Config().router, host_->Sessions(),
                [self = shared_from_this(), keep_alive](HttpResponse response) {
                  self->Reply(std::move(response), keep_alive);
                });
  if (pending_ == id) WatchForHangup(id);
}

// While a request waits for its answer, a client that closes its connection abandons it:
// the pool interrupts the execution instead of finishing work nobody will read. Data
// from the client (a pipelined request) ends the watch; it is read after the answer.
void HttpConnection::WatchForHangup(std::uint64_t id) {
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), id](beast::error_code ec) {
        if (ec || self->pending_ != id) return;
        char byte;
        const ssize_t n =
            ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) return;
        spdlog::debug("client closed the connection while request {} was pending", id);
        self->host_->Sessions().Abandon(id);
      });
}

void HttpConnection::Reply(HttpResponse response, bool keep_alive) {
  busy_ = true;
  waiting_ = false;
  pending_ = 0;
  if (host_->Stopping()) keep_alive = false;
  auto message = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(response.status), 11);
  message->set(http::field::server, "code-interpreter");
  if (!response.content_type.empty())
    message->set(http::field::content_type, response.content_type);
  message->set(http::field::cache_control, "no-store");
  message->set("X-Content-Type-Options", "nosniff");
  AddCorsHeaders(response, host_->Config().router.cors, request_.origin);
  for (auto& [name, value] : response.headers) message->set(name, value);
  message->keep_alive(keep_alive);
  if (response.stream)
    return SendStream(std::move(response.stream), keep_alive, std::move(message));
  BodyBytesOut().Add(
      static_cast<double>(response.file ? response.file->length : response.body.size()));
  if (response.file) {
    message->set(http::field::content_length, std::to_string(response.file->length));
    return SendFile(std::move(response.file), keep_alive, std::move(message));
  }
  message->body() = std::move(response.body);
  message->prepare_payload();
  stream_.expires_after(host_->Config().write_timeout);
  http::async_write(
      stream_, *message,
      [self = shared_from_this(), message, keep_alive](beast::error_code ec, std::size_t) {
        self->busy_ = false;
        if (ec || !keep_alive || self->host_->Stopping()) return self->Close();
        self->DoWaitForRequest();
      });
}

// The head, then the file's bytes; a transfer cut short closes the connection.
void HttpConnection::SendFile(std::shared_ptr<ResponseFile> file, bool keep_alive,
                              std::shared_ptr<http::response<http::string_body>> message) {
  auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*message);
  stream_.expires_after(host_->Config().write_timeout);
  http::async_write_header(
      stream_, *serializer,
      [self = shared_from_this(), message, serializer, file = std::move(file), keep_alive](
          beast::error_code ec, std::size_t) mutable {
        if (ec) {
          self->busy_ = false;
          return self->Close();
        }
        self->stream_.expires_never();  // FileSender watches for a stalled client itself
        FileSender::Send(self->stream_.socket(), std::move(file),
                         self->host_->Config().write_timeout, [self, keep_alive](bool ok) {
                           self->busy_ = false;
                           if (!ok || !keep_alive || self->host_->Stopping()) return self->Close();
                           self->DoWaitForRequest();
                         });
      });
}

// Half-closes, then reads and discards what the client still sends (briefly) before
// closing: closing with unread data would reset the connection and could destroy a 401 or
// 413 response before the client reads it.
void HttpConnection::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec || host_->Stopping()) return stream_.close();
  waiting_ = true;
  waiting_since_ = Clock::now();
  stream_.expires_after(kDrainTime);
  DrainThenClose();
}

void HttpConnection::DrainThenClose() {
  stream_.async_read_some(host_->DiscardBuffer(),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->stream_.close();
                            self->DrainThenClose();
                          });
}

}  // namespace gateway
