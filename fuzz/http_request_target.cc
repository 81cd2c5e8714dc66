// The server's parse -> route -> write path without sockets: the same Beast parser, limits
// and read algorithm as HttpConnection (head first, CheckHead and the Content-Length
// judged before any body is read), over an in-memory stream.

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "fuzz/check.h"
#include "fuzz/gateway_harness.h"
#include "fuzz/targets.h"
#include "gateway/http_server.h"

namespace fuzz {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// A SyncReadStream over the input that hands out at most `chunk` bytes per read, then eof.
class InputStream {
 public:
  InputStream(std::string_view data, std::size_t chunk) : data_(data), chunk_(chunk) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    if (data_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    const std::size_t n =
        asio::buffer_copy(buffers, asio::buffer(data_.data(), std::min(chunk_, data_.size())));
    data_.remove_prefix(n);
    return n;
  }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view data_;
  std::size_t chunk_;
};

// Writes the response as Connection::Reply does and checks the status line.
void WriteResponse(gateway::HttpResponse response, bool keep_alive) {
  const int status = response.status;
  http::response<http::string_body> message(static_cast<http::status>(status), 11);
  message.set(http::field::server, "code-interpreter");
  message.set(http::field::content_type, response.content_type);
  message.set(http::field::cache_control, "no-store");
  message.set("X-Content-Type-Options", "nosniff");
  for (auto& [name, value] : response.headers) message.set(name, value);
  message.keep_alive(keep_alive);
  message.body() = std::move(response.body);
  message.prepare_payload();
  std::ostringstream out;
  out << message;
  const std::string prefix = "HTTP/1.1 " + std::to_string(status) + " ";
  FUZZ_CHECK(out.str().rfind(prefix, 0) == 0, "the response does not start with its status line");
}

// What Connection::OnReadError does with a read error.
std::string ReadErrorReaction(beast::error_code ec) {
  if (ec == http::error::body_limit) return "413\n";
  if (ec == http::error::header_limit) return "431\n";
  if (ec == http::error::end_of_stream || ec == asio::error::eof) return "close\n";
  return "400\n";
}

// Serves every request in `input` as one keep-alive connection and returns a transcript of
// what reached the router and how the connection ended.
std::string Serve(std::string_view input, std::size_t chunk) {
  const gateway::ServerConfig server;  // the limits the server applies by default
  FakeSessions sessions;
  InputStream stream(input, chunk);
  beast::flat_buffer buffer;
  std::uint64_t next_request_id = 0;
  std::string transcript;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // judged after the head
    parser.header_limit(static_cast<std::uint32_t>(server.max_header_bytes));
    beast::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    // Which error Beast reports may depend on where reads split the bytes (a header ending
    // in bare LFs is "bad version" when whole, "partial message" at the end of the stream);
    // the server's reaction must not.
    if (ec) return transcript + ReadErrorReaction(ec);
    gateway::HttpRequest req;
    req.method = std::string(parser.get().method_string());
    req.target = std::string(parser.get().target());
    if (const auto it = parser.get().find("X-Auth-Token"); it != parser.get().end())
      req.auth_token = std::string(it->value());
    if (auto refusal = gateway::CheckHead(req, FuzzRouterConfig())) {
      // A refusal, or a CORS preflight's answer (OPTIONS, no token needed), which keeps the
      // connection when the request had no body, as HttpConnection::OnReadHeader does.
      const bool preflight = req.method == "OPTIONS" && refusal->status == 204;
      FUZZ_CHECK(
          refusal->status == 401 || refusal->status == 404 || refusal->status == 405 || preflight,
          std::to_string(refusal->status).c_str());
      const bool keep = preflight && parser.is_done() && parser.get().keep_alive();
      WriteResponse(std::move(*refusal), keep);
      transcript += req.method + " " + req.target + " -> answered from the head\n";
      if (keep) continue;
      return transcript;
    }
    if (const auto length = parser.content_length(); length && *length > server.max_body_bytes)
      return transcript + "413\n";
    parser.body_limit(server.max_body_bytes);
    if (!parser.is_done()) http::read(stream, buffer, parser, ec);
    if (ec) return transcript + ReadErrorReaction(ec);
    http::request<http::string_body> request = parser.release();
    req.body = std::move(request.body());
    req.id = ++next_request_id;
    FUZZ_CHECK(req.body.size() <= server.max_body_bytes, "a body over the limit was accepted");
    const bool keep_alive = request.keep_alive();
    gateway::HttpResponse response = Route(req, sessions);
    transcript += req.method + " " + req.target + " token=" + req.auth_token.value_or("(none)") +
                  " body=" + std::to_string(req.body.size()) + ":" + req.body + " -> " +
                  std::to_string(response.status) + (keep_alive ? " keep-alive\n" : " close\n");
    WriteResponse(std::move(response), keep_alive);
    if (!keep_alive) return transcript;
  }
}

}  // namespace

void FuzzHttpRequest(std::string_view input) {
  const std::string whole = Serve(input, input.size() + 1);
  // Sockets deliver bytes in arbitrary pieces; the outcome must not depend on them.
  const std::string split = Serve(input, 1 + input.size() % 13);
  FUZZ_CHECK(whole == split,
             ("read in one piece:\n" + whole + "read in pieces:\n" + split).c_str());
}

}  // namespace fuzz
