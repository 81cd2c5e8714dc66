// One accepted TCP connection of the HTTP listener (internal to http_server.cc): reads a
// request's head, refuses it from the head when CheckHead says so (without reading its
// body), else reads the body, hands the request to HandleRequest, writes the response, and
// repeats while the client keeps the connection alive. Every read has a deadline.
// Uploads (IsStreamedUpload) are not read whole: their body goes to a BodySink in chunks
// (http_connection_upload.cc), each read with a deadline of its own; downloads (a response
// with a file) are sent with FileSender, streamed responses (events) in chunks as they come
// (http_connection_stream.cc).
// Memory per connection: the head (at most max_header_bytes), the body (at most
// max_body_bytes, only once the head passed CheckHead; an upload's chunk buffer instead,
// kUploadChunk) and the response (a download's bytes are never held).
// io thread only, like the server that owns it.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/metrics.h"
#include "gateway/http_server.h"
#include "gateway/router.h"

namespace gateway {

class HttpConnection;

// The connection metrics (common/metrics.h), shared by every connection.
common::metrics::Gauge& OpenConnections();
common::metrics::Counter& BodyBytesIn();   // request bodies, uploads included
common::metrics::Counter& BodyBytesOut();  // response bodies, downloads included

// What a connection needs from the server that accepted it.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  virtual const ServerConfig& Config() const = 0;
  virtual pool::Sessions& Sessions() = 0;
  virtual bool Stopping() const = 0;
  virtual std::uint64_t NextRequestId() = 0;
  // Scratch space for bytes read only to be thrown away; shared by all connections.
  virtual boost::asio::mutable_buffer DiscardBuffer() = 0;
  // Registration (for Stop and eviction) and the connection-limit count of its address key.
  virtual void Opened(HttpConnection* connection) = 0;
  virtual void Closed(HttpConnection* connection) = 0;
  virtual void Uncount(const std::string& address_key) = 0;
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  // `address_key` is already counted in the server's limits; the connection uncounts it when
  // it is evicted or destroyed.
  HttpConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ConnectionHost> host,
                 std::string address_key);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void Start();
  // Called on Stop(): closes at once unless a request is being handled.
  void CloseIfIdle();
  // Since when the connection has been waiting for a request (idle, or its head arriving), or
  // draining a refused one; nullopt while it reads an admitted body or handles a request.
  std::optional<Clock::time_point> WaitingSince() const;
  // Closes at once and uncounts the connection (to make room for a new one).
  void Evict();

 private:
  void DoWaitForRequest();
  void DoReadHeader();
  void OnReadHeader(boost::beast::error_code ec);
  void DoReadBody();
  void OnRead(boost::beast::error_code ec);
  void OnReadError(boost::beast::error_code ec);
  // Uploads (http_connection_upload.cc).
  void BeginStreamedUpload();
  void OnUploadReady(std::unique_ptr<BodySink> sink, std::optional<HttpResponse> refusal);
  void DoReadUploadChunk();
  void OnUploadChunk(boost::beast::error_code ec);
  void SendFile(
      std::shared_ptr<ResponseFile> file, bool keep_alive,
      std::shared_ptr<boost::beast::http::response<boost::beast::http::string_body>> message);
  // Streamed responses (http_connection_stream.cc).
  void SendStream(
      std::shared_ptr<ResponseStream> stream, bool keep_alive,
      std::shared_ptr<boost::beast::http::response<boost::beast::http::string_body>> message);
  void PumpStream(std::shared_ptr<ResponseStream> stream, bool keep_alive);
  void WatchStreamHangup(std::shared_ptr<ResponseStream> stream);
  void StreamFailed(ResponseStream& stream);
  void WatchForHangup(std::uint64_t id);
  void Reply(HttpResponse response, bool keep_alive);
  void Close();
  void DrainThenClose();
  void Uncount();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<ConnectionHost> host_;
  std::string address_key_;
  bool counted_ = true;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> upload_;
  std::unique_ptr<BodySink> sink_;
  std::unique_ptr<char[]> upload_chunk_;  // kUploadChunk bytes while an upload runs
  HttpRequest request_;                   // the head, once read; the body is added when it is read
  Clock::time_point request_start_;
  bool waiting_ = true;
  Clock::time_point waiting_since_;
  bool busy_ = false;
  std::uint64_t pending_ = 0;  // the id of the request waiting for its answer, else 0
};

}  // namespace gateway
