// KernelLink: the hub's four connections to one kernel (shell, control and heartbeat as a
// DEALER, iopub as a SUB, all ZMTP over the kernel's ipc sockets) and the budgets on what is
// read from them. It registers its sockets with the hub's epoll (data: Token(id, channel)),
// connects those whose kernel is not listening yet on later turns, reads each kernel at
// most `turn_bytes` per loop turn and `bytes_per_second` on average (when over its rate, its
// sockets are not read until it is back within it), and hands complete messages' frames to
// the hub. It knows nothing of the Jupyter protocol above the frames.
//
// Thread-safety: none; the hub thread owns every link.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/rate_budget.h"
#include "common/result.h"
#include "jupyter/connection.h"
#include "jupyter/zmtp_socket.h"

namespace jupyter {

enum class Channel { kShell, kControl, kIopub, kHeartbeat };
inline constexpr std::array kChannels{Channel::kShell, Channel::kControl, Channel::kIopub,
                                      Channel::kHeartbeat};

// epoll data naming one socket: the kernel id and the channel, so an event names its socket
// without a pointer that could outlive the kernel.
inline std::uint64_t Token(std::uint64_t kernel_id, Channel channel) {
  return (kernel_id << 2) | static_cast<std::uint64_t>(channel);
}

struct LinkBudgets {
  std::size_t max_message_bytes = 64u << 20;  // all frames together; larger are skipped
  std::size_t max_frames = 256;
  std::size_t turn_bytes = 256u << 10;
  double bytes_per_second = 64.0 * (1 << 20);  // bursts: max(this, max_message_bytes)
};

class KernelLink {
 public:
  using Clock = std::chrono::steady_clock;

  // What one read produced.
  struct Received {
    std::vector<std::vector<std::string>> messages;  // complete messages' frames, in order
    std::size_t dropped = 0;                         // messages skipped for exceeding the limits
    std::size_t bytes = 0;                           // read from the socket, complete or not
    bool held_back = false;  // the kernel went over its rate: it is not read for a while
  };

  KernelLink(std::uint64_t id, const ConnectionInfo& info, LinkBudgets budgets, int epoll_fd);
  ~KernelLink();  // closes every socket (and removes it from epoll)
  KernelLink(const KernelLink&) = delete;
  KernelLink& operator=(const KernelLink&) = delete;

  // Connects the sockets whose kernel is listening by now. An error: a socket cannot be
  // connected to at all (e.g. the path is not a socket).
  common::Result<void> Connect(Clock::time_point now);
  // Lets a held-back kernel be read again once its time has come.
  void Release(Clock::time_point now);
  // Whether the kernel is not being read for now, for going over its rate.
  bool HeldBack() const { return held_until_.has_value(); }
  // When the link wants Connect or Release called; nullopt: it does not.
  std::optional<Clock::time_point> NextTimer() const;

  // Queues a message (sent once connected and handshaken). Dropped when the kernel closed
  // that connection.
  void Send(Channel channel, const std::vector<std::string>& frames);

  // Handles what epoll reported for `channel`: writes what waits, reads within the budgets
  // of loop turn `turn`. An error: the kernel broke the framing; the link is then unusable.
  common::Result<void> OnEvent(Channel channel, std::uint32_t events, std::uint64_t turn,
                               Received& out);

  // Closes every socket (the hub cut the kernel off).
  void CloseAll();

 private:
  struct Socket {
    std::unique_ptr<ZmtpSocket> zmtp;
    bool registered = false;  // with epoll, for `events`
    std::uint32_t events = 0;
    bool closed = false;  // the kernel closed it, or the link was cut; not reopened
  };

  Socket& At(Channel channel) { return sockets_[static_cast<std::size_t>(channel)]; }
  void Arm(Channel channel);
  void Flush(Channel channel);
  void Close(Socket& socket);

  std::uint64_t id_;
  int epoll_fd_;
  LinkBudgets budgets_;
  std::array<Socket, kChannels.size()> sockets_;
  std::optional<Clock::time_point> next_connect_;  // some socket is not connected yet
  common::RateBudget rate_;
  std::optional<Clock::time_point> held_until_;
  std::uint64_t turn_ = 0;  // the loop turn turn_left_ belongs to
  std::size_t turn_left_ = 0;
};

}  // namespace jupyter
