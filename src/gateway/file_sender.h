// Sends a download's bytes (a ResponseFile) on a connection's socket after its head, with
// sendfile(2): the bytes go from the page cache (tmpfs: memory) to the socket without passing
// through the gateway's memory, so a download costs the gateway no buffer at all. The file is
// sent in slices, yielding to the io_context between them, so one fast client does not hold
// up other connections; a client that reads nothing for `stall_timeout` is cut off. A file
// that shrank while being sent (the kernel truncated it) ends the transfer early: `done`
// gets false, and the connection must close (the head promised more bytes).
// io thread only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "gateway/router.h"

namespace gateway {

class FileSender : public std::enable_shared_from_this<FileSender> {
 public:
  // `socket` must outlive the transfer (the connection that owns it is kept alive by `done`).
  static void Send(boost::asio::ip::tcp::socket& socket, std::shared_ptr<ResponseFile> file,
                   std::chrono::milliseconds stall_timeout, std::function<void(bool)> done);

  FileSender(boost::asio::ip::tcp::socket& socket, std::shared_ptr<ResponseFile> file,
             std::chrono::milliseconds stall_timeout, std::function<void(bool)> done);

 private:
  void SendSlice();
  void WaitWritable();
  void Finish(bool ok);

  boost::asio::ip::tcp::socket& socket_;
  std::shared_ptr<ResponseFile> file_;
  std::chrono::milliseconds stall_timeout_;
  std::function<void(bool)> done_;
  boost::asio::steady_timer stall_;
  std::uint64_t sent_ = 0;
  bool finished_ = false;
};

}  // namespace gateway
