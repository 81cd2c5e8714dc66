// HttpConnection's streamed responses (a response with a ResponseStream: an execution's
// events). The head goes out with Transfer-Encoding: chunked; then each time the stream has
// bytes queued they go out as one chunk, each within write_timeout, and the last chunk once the
// stream has finished, after which the connection serves its next request. While it waits for
// the producer, the connection watches the socket: a client that hangs up (or a write that fails
// or times out: a client that stopped reading) makes the stream Gone and closes the connection.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "gateway/http_connection.h"
#include "gateway/response_stream.h"

namespace gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

void HttpConnection::SendStream(std::shared_ptr<ResponseStream> stream, bool keep_alive,
                                std::shared_ptr<http::response<http::string_body>> message) {
  message->chunked(true);
  auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*message);
  stream_.expires_after(host_->Config().write_timeout);
  http::async_write_header(stream_, *serializer,
                           [self = shared_from_this(), message, serializer, stream, keep_alive](
                               beast::error_code ec, std::size_t) {
                             if (ec) return self->StreamFailed(*stream);
                             self->WatchStreamHangup(stream);
                             self->PumpStream(stream, keep_alive);
                           });
}

void HttpConnection::PumpStream(std::shared_ptr<ResponseStream> stream, bool keep_alive) {
  if (stream->ClientGone()) return;
  std::string bytes = stream->Take();
  if (!bytes.empty()) {
    auto data = std::make_shared<std::string>(std::move(bytes));
    BodyBytesOut().Add(static_cast<double>(data->size()));
    stream_.expires_after(host_->Config().write_timeout);
    return asio::async_write(
        stream_, http::make_chunk(asio::buffer(*data)),
        [self = shared_from_this(), stream, data, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) return self->StreamFailed(*stream);
          self->PumpStream(stream, keep_alive);
        });
  }
  if (stream->Finished()) {
    stream_.expires_after(host_->Config().write_timeout);
    return asio::async_write(
        stream_, http::make_chunk_last(),
        [self = shared_from_this(), stream, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) return self->StreamFailed(*stream);
          self->busy_ = false;
          if (!keep_alive || self->host_->Stopping()) return self->Close();
          self->DoWaitForRequest();
        });
  }
  stream_.expires_never();  // waiting for the producer, not the client
  // Woken from inside the producer's Write: the next write starts from the io loop instead.
  stream->WhenReady([self = shared_from_this(), stream, keep_alive] {
    asio::post(self->stream_.get_executor(),
               [self, stream, keep_alive] { self->PumpStream(stream, keep_alive); });
  });
}

// Readable while the response streams: the client hung up (EOF, an error), or sent its next
// request early (left for after the response).
void HttpConnection::WatchStreamHangup(std::shared_ptr<ResponseStream> stream) {
  std::weak_ptr<ResponseStream> weak = stream;
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), weak](beast::error_code ec) {
        const auto stream = weak.lock();
        if (ec || !stream || stream->Finished() || stream->ClientGone()) return;
        char byte;
        const ssize_t n =
            ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) return;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
          return self->WatchStreamHangup(stream);
        spdlog::debug("client closed the connection of a streamed response");
        self->StreamFailed(*stream);
      });
}

void HttpConnection::StreamFailed(ResponseStream& stream) {
  stream.Gone();
  busy_ = false;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

}  // namespace gateway
