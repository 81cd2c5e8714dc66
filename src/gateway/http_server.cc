#include "gateway/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <unordered_set>
#include <vector>

#include "gateway/http_connection.h"

namespace gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// How often refusals and evictions are summed up in the log: a flood must not flood the log.
constexpr auto kRefusalLogInterval = std::chrono::seconds(10);

// A complete response written straight to a refused socket: nothing is read, nothing queued.
std::string RefusalBytes(const std::string& detail) {
  const std::string body = ErrorResponse(503, detail).body;
  return "HTTP/1.1 503 Service Unavailable\r\nServer: code-interpreter\r\n"
         "Content-Type: application/json\r\nCache-Control: no-store\r\nRetry-After: 1\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

struct HttpServer::Impl : ConnectionHost, std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_, ServerConfig c, pool::Sessions& s)
      : io(io_),
        config(std::move(c)),
        sessions(s),
        acceptor(io_),
        accept_timer(io_),
        limits(config.limits) {}

  const ServerConfig& Config() const override { return config; }
  pool::Sessions& Sessions() override { return sessions; }
  bool Stopping() const override { return stopping; }
  std::uint64_t NextRequestId() override { return ++next_request_id; }
  asio::mutable_buffer DiscardBuffer() override { return asio::buffer(discard); }
  void Opened(HttpConnection* c) override { connections.insert(c); }
  void Closed(HttpConnection* c) override { connections.erase(c); }
  void Uncount(const std::string& key) override { limits.Remove(key); }

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void BackOff(const beast::error_code& ec);
  void Admit(tcp::socket socket);
  bool EvictLongestWaiting();
  void Refuse(tcp::socket& socket, ConnectionLimits::Verdict verdict);
  // Logs what the limits refused and closed, at most once per kRefusalLogInterval.
  void ReportLimits();

  asio::io_context& io;
  ServerConfig config;
  pool::Sessions& sessions;
  tcp::acceptor acceptor;
  asio::steady_timer accept_timer;
  AcceptBackoff backoff;
  Clock::time_point episode_start;
  ConnectionLimits limits;
  std::size_t refused = 0;  // since the last log line about it
  std::size_t evicted = 0;
  Clock::time_point last_refusal_log;
  bool stopping = false;
  std::uint64_t next_request_id = 0;
  std::unordered_set<HttpConnection*> connections;
  // Drained bytes land here; every read into it runs on the io thread and nobody reads it.
  std::array<char, 64 * 1024> discard;
};

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    self->OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    if (ec.category() == boost::system::system_category() && RetryAcceptAtOnce(ec.value())) {
      spdlog::debug("accept failed: {}", ec.message());
      return DoAccept();
    }
    // Out of descriptors while connections merely wait: the one that has waited longest
    // makes room, as when the total is full (each retry closes one, so this cannot spin).
    if ((ec.value() == EMFILE || ec.value() == ENFILE) &&
        ec.category() == boost::system::system_category() && EvictLongestWaiting()) {
      ReportLimits();
      return DoAccept();
    }
    return BackOff(ec);
  }
  if (const std::size_t failures = backoff.Succeeded(); failures > 0) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - episode_start);
    spdlog::info("accepting connections again, after {} failed accepts in {} ms", failures,
                 ms.count());
  }
  Admit(std::move(socket));
  DoAccept();
}

// The connection that failed to be accepted stays queued, so accepting again at once would
// fail again at once: wait, and say so once per episode rather than once per failure.
void HttpServer::Impl::BackOff(const beast::error_code& ec) {
  const AcceptBackoff::Wait wait = backoff.Failed();
  if (wait.starts_episode) {
    episode_start = Clock::now();
    spdlog::error(
        "accept failed: {} ({} connections open); new connections wait in the listen queue, "
        "accept is retried every {} ms or more until it succeeds",
        ec.message(), connections.size(), wait.delay.count());
  }
  accept_timer.expires_after(wait.delay);
  accept_timer.async_wait([self = shared_from_this()](const beast::error_code& ec) {
    if (ec || self->stopping) return;
    self->DoAccept();
  });
}

void HttpServer::Impl::Admit(tcp::socket socket) {
  beast::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // gone already; the socket closes here
  std::string key = AddressKey(remote.address().to_string());
  ConnectionLimits::Verdict verdict = limits.Check(key);
  if (verdict == ConnectionLimits::Verdict::kTotalFull && EvictLongestWaiting()) {
    verdict = limits.Check(key);
    ReportLimits();
  }
  if (verdict != ConnectionLimits::Verdict::kAdmit) return Refuse(socket, verdict);
  socket.set_option(tcp::no_delay(true), ec);
  limits.Add(key);
  std::make_shared<HttpConnection>(std::move(socket), shared_from_this(), std::move(key))->Start();
}

bool HttpServer::Impl::EvictLongestWaiting() {
  HttpConnection* oldest = nullptr;
  Clock::time_point oldest_since = Clock::time_point::max();
  for (HttpConnection* c : connections) {
    if (const auto since = c->WaitingSince(); since && *since < oldest_since) {
      oldest = c;
      oldest_since = *since;
    }
  }
  if (oldest == nullptr) return false;
  oldest->Evict();
  ++evicted;
  return true;
}

void HttpServer::Impl::Refuse(tcp::socket& socket, ConnectionLimits::Verdict verdict) {
  static const std::string kTotalFull = RefusalBytes("Too many connections; retry later");
  static const std::string kAddressFull =
      RefusalBytes("Too many connections from this address; retry later");
  const std::string& bytes =
      verdict == ConnectionLimits::Verdict::kAddressFull ? kAddressFull : kTotalFull;
  // Best effort, never blocking: a fresh socket's send buffer takes it whole.
  (void)::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  ++refused;
  ReportLimits();
}

void HttpServer::Impl::ReportLimits() {
  const Clock::time_point now = Clock::now();
  if (now - last_refusal_log < kRefusalLogInterval) return;
  spdlog::warn(
      "connection limits: refused {} and closed {} waiting connection(s) since the last report; "
      "{} open (limits: {} in total, {} per address)",
      refused, evicted, limits.Total(), limits.config().max_total, limits.config().max_per_address);
  refused = 0;
  evicted = 0;
  last_refusal_log = now;
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
  impl_->accept_timer.cancel();
  // Copy: closing may destroy connections, which unregister themselves.
  std::vector<HttpConnection*> connections(impl_->connections.begin(), impl_->connections.end());
  for (HttpConnection* connection : connections) connection->CloseIfIdle();
}

}  // namespace gateway
