#include "jupyter/zmtp_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace jupyter {
namespace {

std::vector<std::string> PeerTypes(ZmtpSocket::Role role) {
  if (role == ZmtpSocket::Role::kSub) return {"PUB", "XPUB"};
  return {"ROUTER"};
}

}  // namespace

ZmtpSocket::ZmtpSocket(std::string path, Role role, zmtp::DecoderLimits limits)
    : path_(std::move(path)), role_(role), decoder_(limits, PeerTypes(role)) {}

common::Result<bool> ZmtpSocket::Connect() {
  if (fd_.Valid()) return true;
  // O_PATH | O_NOFOLLOW: a symlink planted in place of the socket is not followed.
  common::UniqueFd node(::open(path_.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node.Valid()) {
    if (errno == ENOENT) return false;
    return common::ErrnoFail("open(" + path_ + ", O_PATH | O_NOFOLLOW)");
  }
  struct stat st {};
  if (::fstat(node.Get(), &st) != 0) return common::ErrnoFail("fstat(" + path_ + ")");
  if (!S_ISSOCK(st.st_mode)) return common::Fail(path_ + " is not a socket");

  common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.Valid()) return common::ErrnoFail("socket(AF_UNIX)");
  // Connecting through /proc/self/fd reaches the inode opened above, whatever the name
  // points to by now.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string via = "/proc/self/fd/" + std::to_string(node.Get());
  std::memcpy(addr.sun_path, via.c_str(), via.size() + 1);
  if (::connect(fd.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ECONNREFUSED || errno == EAGAIN) return false;  // not listening (yet)
    return common::ErrnoFail("connect(" + path_ + ")");
  }
  fd_ = std::move(fd);
  out_ = zmtp::Greeting();
  out_offset_ = 0;
  return true;
}

void ZmtpSocket::Send(const std::vector<std::string>& frames) {
  std::string encoded = zmtp::EncodeMessage(frames);
  if (handshake_done_) {
    out_ += encoded;
  } else {
    pending_.push_back(std::move(encoded));
  }
}

common::Result<void> ZmtpSocket::Flush() {
  while (fd_.Valid() && WantsWrite()) {
    const ssize_t n = ::send(fd_.Get(), out_.data() + out_offset_, out_.size() - out_offset_,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return common::ErrnoFail("send");
    }
    out_offset_ += static_cast<std::size_t>(n);
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  } else if (out_offset_ > 64 * 1024 && out_offset_ > out_.size() / 2) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  return {};
}

common::Result<std::size_t> ZmtpSocket::Read(std::size_t budget, zmtp::Decoder::Output& out) {
  std::array<char, 64 * 1024> buffer;
  std::size_t total = 0;
  while (fd_.Valid() && total < budget) {
    const ssize_t n =
        ::recv(fd_.Get(), buffer.data(), std::min(buffer.size(), budget - total), MSG_DONTWAIT);
    if (n == 0) return common::Fail(std::string(kClosed));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return common::ErrnoFail("recv");
    }
    total += static_cast<std::size_t>(n);
    if (auto ok = decoder_.Feed({buffer.data(), static_cast<std::size_t>(n)}, out); !ok) {
      return std::unexpected(ok.error());
    }
    AdvanceHandshake();
  }
  return total;
}

void ZmtpSocket::AdvanceHandshake() {
  if (!ready_sent_ && decoder_.GreetingDone()) {
    out_ += zmtp::Ready(role_ == Role::kSub ? "SUB" : "DEALER");
    ready_sent_ = true;
  }
  if (!handshake_done_ && decoder_.HandshakeDone()) {
    handshake_done_ = true;
    if (role_ == Role::kSub) out_ += zmtp::SubscribeAll();
    for (const std::string& message : pending_) out_ += message;
    pending_.clear();
  }
}

}  // namespace jupyter
