// The ZMTP decoder on bytes a kernel could write to its end of a connection. Input: byte 0
// picks a chunk size (1 + byte % 64) and whether our peer must be a ROUTER or a PUB; the rest
// is the stream. Oracles: what the decoder makes of the stream does not depend on how it is
// split across reads, and no complete message exceeds the limits it was given.

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "jupyter/zmtp.h"

namespace fuzz {
namespace {

using jupyter::zmtp::Decoder;
using jupyter::zmtp::DecoderLimits;

constexpr DecoderLimits kLimits{
    .max_message_bytes = 4096, .max_frames = 8, .max_command_bytes = 512};

struct Outcome {
  bool ok = true;
  Decoder::Output out;
};

Outcome Run(std::string_view stream, std::size_t chunk, const std::vector<std::string>& peers) {
  Decoder decoder(kLimits, peers);
  Outcome outcome;
  for (std::size_t i = 0; i < stream.size() && outcome.ok; i += chunk) {
    outcome.ok = decoder.Feed(stream.substr(i, chunk), outcome.out).has_value();
  }
  return outcome;
}

}  // namespace

void FuzzZmtp(std::string_view input) {
  if (input.empty()) return;
  const auto mode = static_cast<std::uint8_t>(input[0]);
  const std::string_view stream = input.substr(1);
  const std::vector<std::string> peers =
      (mode & 0x80) ? std::vector<std::string>{"PUB", "XPUB"} : std::vector<std::string>{"ROUTER"};
  const Outcome whole = Run(stream, stream.size() + 1, peers);
  const Outcome split = Run(stream, 1 + (mode & 63), peers);
  FUZZ_CHECK(whole.ok == split.ok, "the verdict depends on how the stream is split");
  if (!whole.ok) return;  // the messages before the error may differ: only the verdict counts
  FUZZ_CHECK(whole.out.dropped == split.out.dropped, "the drop count depends on the split");
  FUZZ_CHECK(whole.out.messages == split.out.messages, "the messages depend on the split");
  for (const auto& message : whole.out.messages) {
    std::size_t bytes = 0;
    for (const std::string& frame : message) bytes += frame.size();
    FUZZ_CHECK(bytes <= kLimits.max_message_bytes, "a message over the byte limit got through");
    FUZZ_CHECK(message.size() <= kLimits.max_frames, "a message over the frame limit got through");
  }
}

}  // namespace fuzz
