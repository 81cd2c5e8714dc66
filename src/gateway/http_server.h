// The HTTP listener (Boost.Beast): accepts connections on the io thread within the connection
// limits, reads each request's head with a size limit and a timeout, refuses it from the head
// alone when it can (CheckHead: 404, 405, 401; 413 for a Content-Length over the limit) so
// that no body is read for a client without the token, then reads the body, hands the
// request to HandleRequest and writes the response. Keep-alive and pipelining-free HTTP/1.1;
// TCP_NODELAY on every connection.
//
// Over a limit, a new connection is answered 503 and closed without reading anything; when
// the total is full, the connection that has waited longest for a request (idle, sending its
// head, or being drained after a refusal) is closed to make room first, so idle connections
// never keep out a client that sends a request; the same when accept fails for want of
// descriptors. When nothing can make room, or memory is short, the accept loop waits (100 ms,
// growing to 1 s) instead of spinning, and logs once per episode.
// Construct, Start and Stop on the io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "gateway/connection_limits.h"
#include "gateway/router.h"
#include "pool/sessions.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace gateway {

struct ServerConfig {
  std::string host = "127.0.0.1";
  unsigned short port = 3874;
  std::size_t max_body_bytes = 2u << 20;
  std::size_t max_header_bytes = 16u << 10;
  // A request starts when its connection is accepted, or, on a kept-alive connection, at its
  // first byte. Its head must be complete header_timeout after the start (or read_timeout,
  // if shorter), the whole request read_timeout after it.
  std::chrono::milliseconds header_timeout{10 * 1000};
  std::chrono::milliseconds read_timeout{30 * 1000};
  std::chrono::milliseconds idle_timeout{60 * 1000};  // keep-alive: waiting for the next request
  std::chrono::milliseconds write_timeout{60 * 1000};
  ConnectionLimitsConfig limits;
  RouterConfig router;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerConfig config, pool::Sessions& sessions);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting; returns the bound port (useful with port 0).
  common::Result<unsigned short> Start();
  // Stops accepting and closes idle connections; connections with a request in flight close
  // after their response is written.
  void Stop();
  // Open connections (for draining at shutdown).
  std::size_t ConnectionCount() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gateway
