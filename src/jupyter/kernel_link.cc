#include "jupyter/kernel_link.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace jupyter {
namespace {

constexpr std::chrono::milliseconds kConnectRetry{10};

std::string SocketPath(const std::string& endpoint) {
  constexpr std::string_view kScheme = "ipc://";
  return endpoint.rfind(kScheme, 0) == 0 ? endpoint.substr(kScheme.size()) : endpoint;
}

}  // namespace

KernelLink::KernelLink(std::uint64_t id, const ConnectionInfo& info, LinkBudgets budgets,
                       int epoll_fd)
    : id_(id),
      epoll_fd_(epoll_fd),
      budgets_(budgets),
      rate_(budgets.bytes_per_second,
            std::max(budgets.bytes_per_second, static_cast<double>(budgets.max_message_bytes))) {
  const zmtp::DecoderLimits limits{.max_message_bytes = budgets.max_message_bytes,
                                   .max_frames = budgets.max_frames};
  const auto make = [&](Channel channel, const std::string& endpoint, ZmtpSocket::Role role) {
    At(channel).zmtp = std::make_unique<ZmtpSocket>(SocketPath(endpoint), role, limits);
  };
  make(Channel::kShell, info.ShellEndpoint(), ZmtpSocket::Role::kDealer);
  make(Channel::kControl, info.ControlEndpoint(), ZmtpSocket::Role::kDealer);
  make(Channel::kIopub, info.IopubEndpoint(), ZmtpSocket::Role::kSub);
  // ipykernel's heartbeat is a ROUTER echo device: a DEALER gets its "ping" back.
  make(Channel::kHeartbeat, info.HeartbeatEndpoint(), ZmtpSocket::Role::kDealer);
  next_connect_ = Clock::now();
}

KernelLink::~KernelLink() { CloseAll(); }

common::Result<void> KernelLink::Connect(Clock::time_point now) {
  if (!next_connect_ || now < *next_connect_) return {};
  bool waiting = false;
  for (const Channel channel : kChannels) {
    Socket& socket = At(channel);
    if (socket.closed || socket.zmtp->Connected()) continue;
    auto connected = socket.zmtp->Connect();
    if (!connected) return std::unexpected(connected.error());
    if (!*connected) {
      waiting = true;
      continue;
    }
    Flush(channel);  // the greeting, and anything queued meanwhile once handshaken
  }
  next_connect_ = waiting ? std::optional(now + kConnectRetry) : std::nullopt;
  return {};
}

void KernelLink::Release(Clock::time_point now) {
  if (!held_until_ || now < *held_until_) return;
  held_until_.reset();
  for (const Channel channel : kChannels) Arm(channel);
}

std::optional<KernelLink::Clock::time_point> KernelLink::NextTimer() const {
  if (next_connect_ && held_until_) return std::min(*next_connect_, *held_until_);
  return next_connect_ ? next_connect_ : held_until_;
}

void KernelLink::Send(Channel channel, const std::vector<std::string>& frames) {
  Socket& socket = At(channel);
  if (socket.closed) return;
  socket.zmtp->Send(frames);
  Flush(channel);
}

common::Result<void> KernelLink::OnEvent(Channel channel, std::uint32_t events, std::uint64_t turn,
                                         Received& out) {
  Socket& socket = At(channel);
  if (socket.closed) return {};
  if (events & EPOLLOUT) Flush(channel);
  if (socket.closed || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return {};
  if (held_until_) {
    // Not read now; a hang-up would be reported on every turn until then.
    if (!(events & EPOLLIN)) Close(socket);
    return {};
  }
  if (turn_ != turn) {
    turn_ = turn;
    turn_left_ = budgets_.turn_bytes;
  }
  if (turn_left_ == 0) return {};  // level-triggered: named again on the next turn
  zmtp::Decoder::Output decoded;
  auto read = socket.zmtp->Read(turn_left_, decoded);
  if (!read) {
    // A closed connection is the kernel's own loss (the pool learns of an exit by itself);
    // broken framing means nothing more from this kernel can be trusted.
    if (read.error().message == ZmtpSocket::kClosed) {
      Close(socket);
      return {};
    }
    return std::unexpected(read.error());
  }
  out.bytes += *read;
  turn_left_ -= std::min(turn_left_, *read);
  const auto now = Clock::now();
  rate_.Take(*read, now);
  if (const auto at = rate_.AvailableAt(now); at > now) {
    held_until_ = at;
    out.held_back = true;
    for (const Channel c : kChannels) Arm(c);
  }
  Flush(channel);  // the handshake may have queued our READY
  out.dropped += decoded.dropped;
  for (auto& message : decoded.messages) out.messages.push_back(std::move(message));
  return {};
}

void KernelLink::CloseAll() {
  for (Socket& socket : sockets_) Close(socket);
  next_connect_.reset();
  held_until_.reset();
}

// Registers the epoll events a socket needs now: input unless the kernel is held back,
// output while bytes wait.
void KernelLink::Arm(Channel channel) {
  Socket& socket = At(channel);
  if (socket.closed || !socket.zmtp->Connected()) return;
  std::uint32_t events = 0;
  if (!held_until_) events |= EPOLLIN;
  if (socket.zmtp->WantsWrite()) events |= EPOLLOUT;
  if (socket.registered && socket.events == events) return;
  epoll_event event{};
  event.events = events;
  event.data.u64 = Token(id_, channel);
  const int op = socket.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (::epoll_ctl(epoll_fd_, op, socket.zmtp->Fd(), &event) != 0) {
    spdlog::error("kernel {}: epoll_ctl: {}", id_, std::strerror(errno));
    return;
  }
  socket.registered = true;
  socket.events = events;
}

void KernelLink::Flush(Channel channel) {
  Socket& socket = At(channel);
  if (socket.closed || !socket.zmtp->Connected()) return;  // sent once connected
  if (auto ok = socket.zmtp->Flush(); !ok) {
    Close(socket);
    return;
  }
  Arm(channel);
}

void KernelLink::Close(Socket& socket) {
  if (socket.registered) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, socket.zmtp->Fd(), nullptr);
  socket.registered = false;
  socket.closed = true;
  socket.zmtp.reset();
}

}  // namespace jupyter
