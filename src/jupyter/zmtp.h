// ZMTP 3.0 (rfc.zeromq.org/spec/23) with the NULL mechanism: the byte stream under a
// ZeroMQ connection, as far as the gateway needs it to talk to a kernel's ROUTER and PUB
// sockets. We speak it ourselves instead of through libzmq so that every byte a kernel sends
// is counted before it is kept: libzmq bounds frames but not messages (a message may have
// any number of frames), and it reads a connection as fast as the peer writes.
//
// Pure functions and a decoder with no I/O; safe to use from one thread per object.
// Hostile-peer rules: the decoder holds at most one message in progress and never more than
// `max_message_bytes` of it; a message over a limit is skipped as its bytes arrive (not
// buffered) and counted as dropped; anything that breaks the framing is an error after
// which the connection must be closed, since the stream cannot be resynchronized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace jupyter::zmtp {

inline constexpr std::size_t kGreetingBytes = 64;

// Our greeting: signature, version 3.0, mechanism NULL, as-server 0, filler.
std::string Greeting();
// The NULL mechanism's READY command, declaring our socket type ("DEALER", "SUB").
std::string Ready(std::string_view socket_type);
// One message as frames (MORE set on all but the last; long sizes where needed).
std::string EncodeMessage(const std::vector<std::string>& frames);
// A SUB socket's subscription to every message, in the ZMTP 3.0 form (a message "\x01").
std::string SubscribeAll();

struct DecoderLimits {
  std::size_t max_message_bytes = 64u << 20;  // a message's frames together
  std::size_t max_frames = 256;               // frames per message
  std::size_t max_command_bytes = 4096;       // READY and other commands
};

class Decoder {
 public:
  struct Output {
    std::vector<std::vector<std::string>> messages;  // complete messages, in arrival order
    std::size_t dropped = 0;                         // messages skipped for exceeding a limit
  };

  // `peer_types`: the socket types the peer may declare in its READY (e.g. {"ROUTER"}).
  Decoder(DecoderLimits limits, std::vector<std::string> peer_types);

  // Consumes all of `bytes`, appending what completes to `out`. An error means the peer
  // broke the protocol; the decoder is then unusable.
  common::Result<void> Feed(std::string_view bytes, Output& out);

  // True once the peer's greeting has arrived (our READY may follow).
  bool GreetingDone() const { return state_ != State::kGreeting; }
  // True once the peer's READY has arrived (messages may be sent).
  bool HandshakeDone() const { return handshake_done_; }

 private:
  enum class State { kGreeting, kFlags, kSize, kBody };

  common::Result<void> OnGreeting();
  common::Result<void> OnFrameHeader();
  common::Result<void> OnFrameEnd(Output& out);
  common::Result<void> OnCommand(std::string_view body);

  DecoderLimits limits_;
  std::vector<std::string> peer_types_;
  State state_ = State::kGreeting;
  bool handshake_done_ = false;
  std::string header_;  // greeting bytes, or the flags and size of the frame being read
  std::uint8_t flags_ = 0;
  std::uint64_t remaining_ = 0;  // body bytes of the current frame still to come
  bool skipping_ = false;        // the current message went over a limit
  std::string frame_;            // the current frame's body (not when skipping)
  std::vector<std::string> message_;
  std::size_t message_bytes_ = 0;
};

}  // namespace jupyter::zmtp
