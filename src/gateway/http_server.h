// The HTTP listener (Boost.Beast): accepts connections on the io thread, reads each request
// with size limits and timeouts, hands it to HandleRequest and writes the response.
// Keep-alive and pipelining-free HTTP/1.1; TCP_NODELAY on every connection.
// Construct, Start and Stop on the io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
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
  std::chrono::milliseconds read_timeout{30 * 1000};  // whole request, from its first byte
  std::chrono::milliseconds idle_timeout{60 * 1000};  // between keep-alive requests
  std::chrono::milliseconds write_timeout{60 * 1000};
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
