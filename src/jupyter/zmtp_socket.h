// ZmtpSocket: one client connection to a kernel's ZeroMQ socket over the ipc transport (a
// unix stream socket), speaking ZMTP 3.0 as a DEALER (to the kernel's ROUTER sockets: shell,
// control, heartbeat) or a SUB (to its PUB socket: iopub). Non-blocking; its owner polls
// Fd() and reads with a byte budget, so how much of a kernel's output is taken in, and when,
// is the owner's decision, never the kernel's.
//
// The socket file lives in a directory the kernel could write to, so it is opened without
// following links and must be a socket; the connection goes to that very inode.
//
// Thread-safety: none; one thread (the hub's) owns each object.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "jupyter/zmtp.h"

namespace jupyter {

class ZmtpSocket {
 public:
  enum class Role { kDealer, kSub };
  // Read's error message when the peer closed the connection.
  static constexpr std::string_view kClosed = "the kernel closed the connection";

  ZmtpSocket(std::string path, Role role, zmtp::DecoderLimits limits);

  // Connects if not connected yet. Ok(false): nobody listens at the path yet (try again
  // later); an error: the path is not a socket we may connect to, or connecting failed.
  common::Result<bool> Connect();
  bool Connected() const { return fd_.Valid(); }
  int Fd() const { return fd_.Get(); }

  // Queues a message; it goes out once the handshake is done (call Flush).
  void Send(const std::vector<std::string>& frames);
  // True while bytes wait for the socket to take them.
  bool WantsWrite() const { return out_offset_ < out_.size(); }
  // Writes what the socket takes now. An error: the connection is gone.
  common::Result<void> Flush();

  // Reads at most `budget` bytes (fewer when the socket has fewer) and decodes them into
  // `out`. Returns the bytes read; an error: the peer closed, or broke the protocol.
  common::Result<std::size_t> Read(std::size_t budget, zmtp::Decoder::Output& out);

 private:
  void AdvanceHandshake();

  std::string path_;
  Role role_;
  zmtp::Decoder decoder_;
  common::UniqueFd fd_;
  bool ready_sent_ = false;
  bool handshake_done_ = false;
  std::string out_;  // bytes to write, from out_offset_ on
  std::size_t out_offset_ = 0;
  std::vector<std::string> pending_;  // encoded messages waiting for the handshake
};

}  // namespace jupyter
