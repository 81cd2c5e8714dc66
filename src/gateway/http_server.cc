#include "gateway/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <optional>
#include <unordered_set>

namespace gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  class Connection;

  Impl(asio::io_context& io_, ServerConfig c, pool::Sessions& s)
      : io(io_), config(std::move(c)), sessions(s), acceptor(io_) {}

  void DoAccept();

  asio::io_context& io;
  ServerConfig config;
  pool::Sessions& sessions;
  tcp::acceptor acceptor;
  bool stopping = false;
  std::uint64_t next_request_id = 0;
  std::unordered_set<Connection*> connections;
};

// One TCP connection: read a request, handle it, write the response, repeat.
class HttpServer::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    server_->connections.insert(this);
  }
  ~Connection() { server_->connections.erase(this); }

  void Start() { DoRead(); }

  // Called on Stop(): closes at once unless a request is being handled.
  void CloseIfIdle() {
    if (!busy_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.close();
    }
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(server_->config.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->config.max_header_bytes));
    stream_.expires_after(first_ ? server_->config.read_timeout : server_->config.idle_timeout);
    // Wait for the first byte with the idle timeout, then give the whole request read_timeout.
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnReadHeader(ec); });
  }

  void OnReadHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    stream_.expires_after(server_->config.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Reply(
          ErrorResponse(413, "Request body exceeds " +
                                 std::to_string(server_->config.max_body_bytes) + " bytes"),
          false);
    }
    if (ec == http::error::header_limit)
      return Reply(ErrorResponse(431, "Request headers too large"), false);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Close();
    }
    Reply(ErrorResponse(400, "Malformed HTTP request: " + ec.message()), false);
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    first_ = false;
    http::request<http::string_body> request = parser_->release();
    HttpRequest req;
    req.method = std::string(request.method_string());
    req.target = std::string(request.target());
    if (const auto it = request.find("X-Auth-Token"); it != request.end())
      req.auth_token = std::string(it->value());
    req.body = std::move(request.body());
    const bool keep_alive = request.keep_alive();
    busy_ = true;
    req.id = ++server_->next_request_id;
    pending_ = req.id;
    stream_.expires_never();  // an execution may take minutes; its own timeout applies
    HandleRequest(req, server_->config.router, server_->sessions,
                  [self = shared_from_this(), keep_alive](HttpResponse response) {
                    self->Reply(std::move(response), keep_alive);
                  });
    if (pending_ == req.id) WatchForHangup(req.id);
  }

  // While a request waits for its answer, a client that closes its connection abandons it:
  // the pool interrupts the execution instead of finishing work nobody will read. Data
  // from the client (a pipelined request) ends the watch; it is read after the answer.
  void WatchForHangup(std::uint64_t id) {
    stream_.socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this(), id](beast::error_code ec) {
          if (ec || self->pending_ != id) return;
          char byte;
          const ssize_t n =
              ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
            return;
          spdlog::debug("client closed the connection while request {} was pending", id);
          self->server_->sessions.Abandon(id);
        });
  }

  void Reply(HttpResponse response, bool keep_alive) {
    busy_ = true;
    pending_ = 0;
    if (server_->stopping) keep_alive = false;
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "code-interpreter");
    message->set(http::field::content_type, response.content_type);
    message->set(http::field::cache_control, "no-store");
    message->set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : response.headers) message->set(name, value);
    message->keep_alive(keep_alive);
    message->body() = std::move(response.body);
    message->prepare_payload();
    stream_.expires_after(server_->config.write_timeout);
    http::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](beast::error_code ec, std::size_t) {
          self->busy_ = false;
          if (ec || !keep_alive || self->server_->stopping) return self->Close();
          self->DoRead();
        });
  }

  // Half-closes, then reads and discards what the client still sends (briefly) before
  // closing: closing with unread data would reset the connection and could destroy a 413
  // response before the client reads it.
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || server_->stopping) return stream_.close();
    stream_.expires_after(std::chrono::seconds(2));
    DrainThenClose();
  }

  void DrainThenClose() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->stream_.close();
                              self->DrainThenClose();
                            });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 4096> scratch_;
  bool busy_ = false;
  bool first_ = true;
  std::uint64_t pending_ = 0;  // the id of the request waiting for its answer, else 0
};

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopping) return;
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(std::move(socket), self)->Start();
    }
    self->DoAccept();
  });
}

HttpServer::HttpServer(asio::io_context& io, ServerConfig config, pool::Sessions& sessions)
    : impl_(std::make_shared<Impl>(io, std::move(config), sessions)) {}

HttpServer::~HttpServer() { Stop(); }

common::Result<unsigned short> HttpServer::Start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->config.host, ec);
  if (ec)
    return common::Fail("invalid listen address '" + impl_->config.host + "': " + ec.message());
  const tcp::endpoint endpoint(address, impl_->config.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return common::Fail("cannot listen on " + impl_->config.host + ":" +
                        std::to_string(impl_->config.port) + ": " + ec.message());
  impl_->DoAccept();
  return acceptor.local_endpoint().port();
}

std::size_t HttpServer::ConnectionCount() const { return impl_->connections.size(); }

void HttpServer::Stop() {
  if (impl_->stopping) return;
  impl_->stopping = true;
  beast::error_code ec;
  impl_->acceptor.close(ec);
  // Copy: closing may destroy connections, which unregister themselves.
  std::vector<Impl::Connection*> connections(impl_->connections.begin(), impl_->connections.end());
  for (Impl::Connection* connection : connections) connection->CloseIfIdle();
}

}  // namespace gateway
