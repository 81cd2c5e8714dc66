// HttpConnection's streamed uploads: the body of PUT /files goes to a BodySink in chunks of
// kUploadChunk as it arrives, never whole. The head has passed CheckHead (token checked);
// a declared Content-Length over max_file_bytes is refused before anything is read, and so is
// a chunked body once it grows past it. Each chunk must arrive within read_timeout of the last
// (a 1 GiB upload takes longer than one request's deadline, a stalled one does not last).
#include <boost/asio/write.hpp>

#include "gateway/file_routes.h"
#include "gateway/http_connection.h"

namespace gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kUploadChunk = 256u << 10;
constexpr std::size_t kReadRoom = 64u << 10;
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

void HttpConnection::BeginStreamedUpload() {
  const ServerConfig& config = host_->Config();
  const std::uint64_t max = UploadBodyLimit(request_, config.router);
  if (const auto length = parser_->content_length(); length && *length > max) {
    return Reply(ErrorResponse(413, "File exceeds the limit of " + std::to_string(max) +
                                        " bytes (--max-file-mb)"),
                 false);
  }
  busy_ = true;
  BeginUpload(request_, config.router, host_->Sessions(),
              [self = shared_from_this()](std::unique_ptr<BodySink> sink,
                                          std::optional<HttpResponse> refusal) {
                self->OnUploadReady(std::move(sink), std::move(refusal));
              });
}

void HttpConnection::OnUploadReady(std::unique_ptr<BodySink> sink,
                                   std::optional<HttpResponse> refusal) {
  if (refusal) return Reply(std::move(*refusal), false);
  if (!stream_.socket().is_open()) return;  // evicted or stopped meanwhile: sink is dropped
  sink_ = std::move(sink);
  upload_.emplace(std::move(*parser_));
  parser_.reset();
  upload_->body_limit(UploadBodyLimit(request_, host_->Config().router));
  upload_chunk_ = std::make_unique<char[]>(kUploadChunk);
  // Beast reads at most the buffer's free capacity (and at least 512 bytes) per call: without
  // room, an upload arrives 512 bytes per system call.
  buffer_.reserve(kReadRoom);
  // Nothing read into the chunk yet (an empty body is done already).
  upload_->get().body().data = upload_chunk_.get();
  upload_->get().body().size = kUploadChunk;
  if (upload_->is_done()) return OnUploadChunk({});
  if (beast::iequals(upload_->get()[http::field::expect], "100-continue")) {
    stream_.expires_after(host_->Config().write_timeout);
    return asio::async_write(stream_, asio::buffer(kContinue, sizeof kContinue - 1),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) {
                                 self->sink_.reset();
                                 return self->Close();
                               }
                               self->DoReadUploadChunk();
                             });
  }
  DoReadUploadChunk();
}

void HttpConnection::DoReadUploadChunk() {
  auto& body = upload_->get().body();
  body.data = upload_chunk_.get();
  body.size = kUploadChunk;
  stream_.expires_after(host_->Config().read_timeout);
  http::async_read_some(
      stream_, buffer_, *upload_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnUploadChunk(ec); });
}

void HttpConnection::OnUploadChunk(beast::error_code ec) {
  if (ec == http::error::need_buffer) ec = {};
  const std::size_t got = upload_chunk_ ? kUploadChunk - upload_->get().body().size : 0;
  if (ec) {
    sink_.reset();  // nothing of a broken upload is left
    upload_chunk_.reset();
    if (ec == http::error::body_limit) {
      return Reply(
          ErrorResponse(413, "File exceeds the limit of " +
                                 std::to_string(UploadBodyLimit(request_, host_->Config().router)) +
                                 " bytes (--max-file-mb)"),
          false);
    }
    return OnReadError(ec);
  }
  if (got > 0) {
    BodyBytesIn().Add(static_cast<double>(got));
    if (auto stop = sink_->Write(std::string_view(upload_chunk_.get(), got))) {
      sink_.reset();
      upload_chunk_.reset();
      return Reply(std::move(*stop), false);
    }
  }
  if (!upload_->is_done()) return DoReadUploadChunk();
  const bool keep_alive = upload_->get().keep_alive();
  upload_chunk_.reset();
  buffer_.shrink_to_fit();
  std::unique_ptr<BodySink> sink = std::move(sink_);
  upload_.reset();
  stream_.expires_never();
  sink->Finish([self = shared_from_this(), keep_alive](HttpResponse response) {
    self->Reply(std::move(response), keep_alive);
  });
}

}  // namespace gateway
