#include "gateway/file_sender.h"

#include <sys/sendfile.h>

#include <boost/asio/post.hpp>
#include <cerrno>

namespace gateway {
namespace {

namespace asio = boost::asio;
// Per turn of the io loop: ~1 ms of copying on loopback.
constexpr std::uint64_t kSlice = 1u << 20;

}  // namespace

void FileSender::Send(asio::ip::tcp::socket& socket, std::shared_ptr<ResponseFile> file,
                      std::chrono::milliseconds stall_timeout, std::function<void(bool)> done) {
  auto sender =
      std::make_shared<FileSender>(socket, std::move(file), stall_timeout, std::move(done));
  sender->SendSlice();
}

FileSender::FileSender(asio::ip::tcp::socket& socket, std::shared_ptr<ResponseFile> file,
                       std::chrono::milliseconds stall_timeout, std::function<void(bool)> done)
    : socket_(socket),
      file_(std::move(file)),
      stall_timeout_(stall_timeout),
      done_(std::move(done)),
      stall_(socket.get_executor()) {}

void FileSender::SendSlice() {
  if (finished_) return;
  if (sent_ >= file_->length) return Finish(true);
  boost::system::error_code ec;
  socket_.native_non_blocking(true, ec);
  if (ec) return Finish(false);
  off_t offset = static_cast<off_t>(file_->offset + sent_);
  const std::uint64_t left = file_->length - sent_;
  const ssize_t n = ::sendfile(socket_.native_handle(), file_->fd.Get(), &offset,
                               static_cast<std::size_t>(left < kSlice ? left : kSlice));
  if (n > 0) {
    sent_ += static_cast<std::uint64_t>(n);
    // Let the other connections have their turn before the next slice.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->SendSlice(); });
    return;
  }
  if (n == 0) return Finish(false);  // the file ended early: it shrank
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WaitWritable();
  Finish(false);
}

void FileSender::WaitWritable() {
  stall_.expires_after(stall_timeout_);
  stall_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->finished_) return;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);  // the client stopped reading
    self->Finish(false);
  });
  socket_.async_wait(asio::ip::tcp::socket::wait_write,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->stall_.cancel();
                       if (ec) return self->Finish(false);
                       self->SendSlice();
                     });
}

void FileSender::Finish(bool ok) {
  if (finished_) return;
  finished_ = true;
  stall_.cancel();
  auto done = std::move(done_);
  file_.reset();
  done(ok);
}

}  // namespace gateway
