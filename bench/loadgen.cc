// The benchmarks' only Boost.Beast translation unit.
#include "loadgen.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "stats.h"

namespace bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http::request<http::string_body> MakeRequest(http::verb verb, const std::string& path,
                                             const std::string& token, const std::string& body) {
  http::request<http::string_body> request{verb, path, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set("X-Auth-Token", token);
  if (verb == http::verb::post) request.set(http::field::content_type, "application/json");
  request.keep_alive(true);
  request.body() = body;
  request.prepare_payload();
  return request;
}

tcp::endpoint Loopback(int port) {
  return {asio::ip::address_v4::loopback(), static_cast<unsigned short>(port)};
}

// One virtual user of RunLoad: writes a step, reads its answer, writes the next.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(tcp::socket socket, const Target& target, const Script& script, const LoadOptions& options,
         Clock::time_point start, std::vector<Exchange>& out, std::function<void()> on_finished)
      : socket_(std::move(socket)),
        target_(target),
        script_(script),
        options_(options),
        start_(start),
        out_(out),
        on_finished_(std::move(on_finished)) {}

  void Start() { SendNext(); }

  // Closes the connection (abandoning an open request); the first call reports the finish.
  void HangUp() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    if (on_finished_) std::exchange(on_finished_, nullptr)();
  }

 private:
  void SendNext() {
    if (next_ == script_.steps.size()) return HangUp();
    const Step& step = script_.steps[next_++];
    request_ = MakeRequest(http::verb::post, step.path, target_.token, step.body);
    out_.emplace_back();
    out_.back().sent_ms = MsSince(start_);
    http::async_write(socket_, request_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->HangUp();
                        self->DoRead();
                      });
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(options_.max_response_bytes);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return HangUp();
    Exchange& exchange = out_.back();
    exchange.done_ms = MsSince(start_);
    auto& response = parser_->get();
    exchange.status = static_cast<int>(response.result_int());
    exchange.bytes = response.body().size();
    const std::string& expect = script_.steps[next_ - 1].expect;
    exchange.ok = exchange.status == 200 &&
                  (expect.empty() || response.body().find(expect) != std::string::npos);
    if (options_.keep_bodies) exchange.body = std::move(response.body());
    if (!response.keep_alive()) return HangUp();
    SendNext();
  }

  tcp::socket socket_;
  const Target& target_;
  const Script& script_;
  const LoadOptions& options_;
  Clock::time_point start_;
  std::vector<Exchange>& out_;
  std::function<void()> on_finished_;
  std::size_t next_ = 0;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

LoadResult RunLoad(const Target& target, const std::vector<Script>& scripts,
                   const LoadOptions& options) {
  LoadResult result;
  result.clients.resize(scripts.size());
  asio::io_context io(1);
  std::vector<tcp::socket> sockets;
  const auto connect_start = Clock::now();
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    tcp::socket socket(io);
    beast::error_code ec;
    socket.connect(Loopback(target.port), ec);
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    if (ec) ++result.connect_failures;
    sockets.push_back(std::move(socket));
  }
  result.connect_ms = MsSince(connect_start);

  const auto start = Clock::now();
  asio::steady_timer hang_up(io);
  std::size_t running = 0;
  const auto on_finished = [&] {
    if (--running > 0) return;
    result.wall_ms = MsSince(start);
    hang_up.cancel();  // the only work left once every client finished
  };
  std::vector<std::shared_ptr<Client>> clients;
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    if (!sockets[i].is_open()) continue;
    clients.push_back(std::make_shared<Client>(std::move(sockets[i]), target, scripts[i], options,
                                               start, result.clients[i], on_finished));
  }
  running = clients.size();
  if (options.hang_up_after.count() > 0) {
    hang_up.expires_after(options.hang_up_after);
    hang_up.async_wait([&](beast::error_code ec) {
      if (!ec)
        for (auto& client : clients) client->HangUp();
    });
  }
  for (auto& client : clients) client->Start();
  io.run();
  return result;
}

struct SyncClient::Impl {
  Impl(Target t, std::size_t max, std::chrono::milliseconds limit)
      : target(std::move(t)), max_bytes(max), timeout(limit), socket(io) {}

  bool Connect() {
    beast::error_code ec;
    socket.close(ec);
    socket.connect(Loopback(target.port), ec);
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    buffer.clear();
    return !ec;
  }

  // One attempt on the current connection; false when the connection failed or the answer
  // did not come within the timeout (then the connection is closed).
  bool Exchange(const http::request<http::string_body>& request, Reply& reply) {
    const auto start = Clock::now();
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_bytes);
    beast::error_code result = asio::error::timed_out;
    bool done = false;
    http::async_write(socket, request, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        result = ec;
        done = true;
        return;
      }
      http::async_read(socket, buffer, parser, [&](beast::error_code ec, std::size_t) {
        result = ec;
        done = true;
      });
    });
    io.restart();
    io.run_for(timeout);
    if (!done) {  // the answer is late: give up on this connection
      timed_out = true;
      beast::error_code ignored;
      socket.close(ignored);
      io.restart();
      io.run();  // lets the cancelled operations finish
      return false;
    }
    if (result) return false;
    reply.ms = MsSince(start);
    reply.status = static_cast<int>(parser.get().result_int());
    reply.body = std::move(parser.get().body());
    if (!parser.get().keep_alive()) {
      beast::error_code ignored;
      socket.close(ignored);
    }
    return true;
  }

  Reply Send(http::verb verb, const std::string& path, const std::string& body) {
    const auto request = MakeRequest(verb, path, target.token, body);
    Reply reply;
    // A kept-alive connection the server closed in the meantime fails at once: retry fresh
    // (but never a request that may still be running).
    timed_out = false;
    if (socket.is_open() && Exchange(request, reply)) return reply;
    if (!timed_out && Connect() && Exchange(request, reply)) return reply;
    return {};
  }

  Target target;
  std::size_t max_bytes;
  std::chrono::milliseconds timeout;
  bool timed_out = false;
  asio::io_context io;
  tcp::socket socket;
  beast::flat_buffer buffer;
};

SyncClient::SyncClient(Target target, std::size_t max_response_bytes,
                       std::chrono::milliseconds timeout)
    : impl_(new Impl(std::move(target), max_response_bytes, timeout)) {}
SyncClient::~SyncClient() { delete impl_; }

Reply SyncClient::Post(const std::string& path, const std::string& body) {
  return impl_->Send(http::verb::post, path, body);
}
Reply SyncClient::Get(const std::string& path) { return impl_->Send(http::verb::get, path, ""); }

std::string ExecuteBody(const std::string& user, const std::string& code, double timeout) {
  nlohmann::json body = {{"user_uuid", user}, {"code", code}};
  if (timeout > 0) body["timeout"] = timeout;
  return body.dump();
}

std::string ReleaseBody(const std::string& user) {
  return nlohmann::json{{"user_uuid", user}}.dump();
}

}  // namespace bench
